"use strict";
// The Mini App's page: plain JS, no build step. Everything it shows comes from the bot's API
// at ./api/, every request signed with Telegram's initData; money arrives formatted, and
// amounts are compared as decimal strings, never as floats.
(() => {
  const launch = new URLSearchParams(location.hash.slice(1));
  const sdk = window.Telegram && window.Telegram.WebApp;
  const initData = (sdk && sdk.initData) || launch.get("tgWebAppData") || "";
  const view = document.getElementById("view");
  const state = { texts: {}, locale: "en", platforms: [], services: [], byId: new Map(), stack: [] };
  const OFFLINE = {
    en: "Open this page from the bot in Telegram.",
    ru: "Откройте эту страницу из бота в Telegram.",
  };

  // -- Telegram ------------------------------------------------------------------------

  function postEvent(type, data) {
    const payload = JSON.stringify({ eventType: type, eventData: data || {} });
    if (window.TelegramWebviewProxy) window.TelegramWebviewProxy.postEvent(type, JSON.stringify(data || {}));
    else if (window.external && window.external.notify) window.external.notify(payload);
    else if (window.parent !== window) window.parent.postMessage(payload, "*");
  }

  // Telegram's events for the page: through its SDK when the page has it, else as Telegram
  // delivers them to any page (receiveEvent in the apps, postMessage on the web).
  function listen(type, handler) {
    if (sdk) {
      const names = { theme_changed: "themeChanged", back_button_pressed: "backButtonClicked" };
      sdk.onEvent(names[type], () => handler({ theme_params: sdk.themeParams }));
      return;
    }
    window.Telegram = window.Telegram || {};
    const earlier = window.Telegram.WebView && window.Telegram.WebView.receiveEvent;
    window.Telegram.WebView = {
      receiveEvent(eventType, eventData) {
        if (eventType === type) handler(eventData || {});
        if (earlier) earlier(eventType, eventData);
      },
    };
    window.addEventListener("message", (event) => {
      const message = parseJson(event.data);
      if (message && message.eventType === type) handler(message.eventData || {});
    });
  }

  function showBackButton() {
    postEvent("web_app_setup_back_button", { is_visible: state.stack.length > 0 });
  }

  function applyTheme(theme) {
    theme = theme || {};
    const root = document.documentElement.style;
    for (const [key, value] of Object.entries(theme)) {
      if (/^#[0-9a-f]{3,8}$/i.test(String(value))) root.setProperty(`--tg-theme-${key.replace(/_/g, "-")}`, value);
    }
    const bg = /^#[0-9a-f]{6}$/i.test(theme.bg_color || "") ? theme.bg_color : "#ffffff";
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(bg.slice(i, i + 2), 16));
    document.documentElement.dataset.scheme = r * 0.299 + g * 0.587 + b * 0.114 < 128 ? "dark" : "light";
  }

  function parseJson(text) {
    try { return JSON.parse(text || "null"); } catch (_) { return null; }
  }

  // -- helpers -------------------------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    const { dataset, ...properties } = props || {};
    Object.assign(node, properties);
    if (dataset) Object.assign(node.dataset, dataset);
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) {
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    }
    return node;
  }

  function t(key, values) {
    let text = state.texts[key] || key;
    for (const [name, value] of Object.entries(values || {})) text = text.split(`{${name}}`).join(value);
    return text;
  }

  function count(n) {
    return new Intl.NumberFormat(state.locale).format(n);
  }

  // Non-negative decimal strings ("0.5", "12"), compared exactly.
  function decimalCompare(a, b) {
    const [ai, af = ""] = a.split(".");
    const [bi, bf = ""] = b.split(".");
    const width = Math.max(af.length, bf.length);
    const x = BigInt(ai + af.padEnd(width, "0"));
    const y = BigInt(bi + bf.padEnd(width, "0"));
    return x < y ? -1 : x > y ? 1 : 0;
  }

  function decimalInput(text) {
    const cleaned = String(text || "").replace(/\s/g, "").replace(",", ".");
    return /^\d+(\.\d+)?$/.test(cleaned) ? cleaned : null;
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error) || `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  async function api(path, body, signal) {
    const response = await fetch(`api/${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { "X-Telegram-Init-Data": initData, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, answer);
    return answer;
  }

  function show(...nodes) {
    view.replaceChildren(...nodes.filter(Boolean));
  }

  // What to say of a failed request: the bot's own words when it gave some.
  function said(error) {
    if (error.status === 401) return OFFLINE[(navigator.language || "en").slice(0, 2)] || OFFLINE.en;
    return error.body && error.body.error ? error.body.error : t("failed");
  }

  function failure(error) {
    if (error.name === "AbortError") return;
    show(el("p", { className: error.status === 401 ? "notice" : "notice error" }, said(error)));
  }

  function go(render) {
    state.stack.push(render);
    showBackButton();
    render();
    window.scrollTo(0, 0);
  }

  function back() {
    state.stack.pop();
    showBackButton();
    (state.stack[state.stack.length - 1] || home)();
  }

  function backButton() {
    return el("button", { className: "back", onclick: back }, t("back"));
  }

  // -- the catalog ---------------------------------------------------------------------

  function serviceMeta(service) {
    const parts = [];
    if (service.unit) parts.push(service.unit);
    if (service.min !== null) parts.push(t("min", { amount: count(service.min) }));
    if (service.max !== null) parts.push(t("max", { amount: count(service.max) }));
    return parts.join(" · ");
  }

  function serviceList(services) {
    return el("ul", { className: "list" }, services.map((service) =>
      el("li", { className: "item", dataset: { id: service.id }, onclick: () => go(() => openService(service.id)) },
        el("span", { className: "name" }, service.name),
        el("span", { className: "meta" }, serviceMeta(service)))));
  }

  // Unpriced services last, whichever way prices go.
  function byPrice(a, b, direction) {
    if (a.per_1000 === null || b.per_1000 === null) return (a.per_1000 === null) - (b.per_1000 === null);
    return direction * decimalCompare(a.per_1000, b.per_1000);
  }

  const ORDERINGS = {
    price: (a, b) => byPrice(a, b, 1),
    price_desc: (a, b) => byPrice(a, b, -1),
    min: (a, b) => Math.sign((a.min ?? Infinity) - (b.min ?? Infinity)) || 0,
    max: (a, b) => Math.sign((b.max ?? -Infinity) - (a.max ?? -Infinity)) || 0,
    name: (a, b) => a.name.localeCompare(b.name, state.locale),
  };

  // A list of services with the sort and the filters above it.
  function browsable(services, heading) {
    const filters = state.filters;
    const sort = el("select", { title: t("sort"), onchange: () => { filters.sort = sort.value; draw(); } },
      ["price", "price_desc", "min", "max", "name"].map((key) =>
        el("option", { value: key, selected: filters.sort === key }, t(`sort_${key}`))));
    const maxPrice = el("input", { inputMode: "decimal", placeholder: t("max_price"), value: filters.maxPrice,
      oninput: () => { filters.maxPrice = maxPrice.value; draw(); } });
    const amount = el("input", { inputMode: "numeric", placeholder: t("amount"), value: filters.amount,
      oninput: () => { filters.amount = amount.value; draw(); } });
    const list = el("div");
    function draw() {
      const limit = decimalInput(filters.maxPrice);
      const wanted = /^\d+$/.test(filters.amount.replace(/\s/g, "")) ? Number(filters.amount.replace(/\s/g, "")) : null;
      const shown = services.filter((s) =>
        (limit === null || (s.per_1000 !== null && decimalCompare(s.per_1000, limit) <= 0)) &&
        (wanted === null || ((s.min === null || s.min <= wanted) && (s.max === null || wanted <= s.max))));
      shown.sort(ORDERINGS[filters.sort]);
      list.replaceChildren(
        el("p", { className: "muted" }, t("services", { count: count(shown.length) })),
        shown.length ? serviceList(shown) : el("p", { className: "muted" }, t("nothing_found")));
    }
    draw();
    return [heading, el("div", { className: "controls" }, sort, maxPrice, amount), list];
  }

  function home() {
    state.stack = [];
    sessionStorage.removeItem("open");
    showBackButton();
    selectTab("catalog");
    const search = el("input", { type: "search", id: "search", placeholder: t("search"), value: state.query || "" });
    const results = el("div", { id: "results" });
    let pending = null;
    async function find() {
      const typedAt = performance.now();
      state.query = search.value;
      if (pending) pending.abort();
      if (!search.value.trim()) {
        results.replaceChildren(platformList());
        results.dataset.query = "";
        return;
      }
      pending = new AbortController();
      const asked = search.value;
      try {
        const found = await api(`search?q=${encodeURIComponent(asked)}`, undefined, pending.signal);
        const services = found.ids.map((id) => state.byId.get(id)).filter(Boolean);
        results.replaceChildren(
          ...(found.approximate && services.length ? [el("p", { className: "muted" }, t("approximate"))] : []),
          ...browsable(services, null).filter(Boolean));
        results.dataset.query = asked;
        performance.measure("search-keystroke", { start: typedAt });
      } catch (error) {
        if (error.name !== "AbortError") results.replaceChildren(el("p", { className: "error" }, said(error)));
      }
    }
    search.addEventListener("input", find);
    show(search, results);
    find();
  }

  function platformList() {
    return el("ul", { className: "list" }, state.platforms.map((platform, p) =>
      el("li", { className: "item", onclick: () => go(() => openPlatform(p)) },
        el("span", { className: "name" }, platform.name),
        el("span", { className: "meta" }, count(platform.categories.reduce((n, c) => n + c.count, 0))))));
  }

  function openPlatform(p) {
    const platform = state.platforms[p];
    show(backButton(), el("h2", {}, platform.name), el("ul", { className: "list" },
      platform.categories.map((category, c) =>
        el("li", { className: "item", onclick: () => go(() => openCategory(p, c)) },
          el("span", { className: "name" }, category.name),
          el("span", { className: "meta" }, count(category.count))))));
  }

  function openCategory(p, c) {
    const category = state.platforms[p].categories[c];
    const services = state.services.filter((s) => s.p === p && s.c === c);
    show(backButton(), ...browsable(services, el("h2", {}, category.name)));
  }

  // -- a service and its form ----------------------------------------------------------

  function newToken() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function saved(serviceId) {
    return parseJson(sessionStorage.getItem(`form:${serviceId}`)) || { values: {}, token: newToken() };
  }

  async function openService(serviceId, notice) {
    sessionStorage.setItem("open", serviceId);
    show(el("p", { className: "muted" }, t("loading")));
    let service;
    try {
      service = await api(`service/${encodeURIComponent(serviceId)}`);
    } catch (error) {
      failure(error);
      return;
    }
    const form = saved(serviceId);
    sessionStorage.setItem(`form:${serviceId}`, JSON.stringify(form));  // a reload keeps its token
    const touched = new Set(Object.keys(form.values));
    const inputs = {};
    const errors = {};
    const total = el("strong", { id: "total" }, "—");
    const balance = el("span", { id: "balance" }, service.balance || "—");
    const shortNote = el("p", { className: "error", hidden: true }, t("short"));
    const outcome = el("div", { id: "outcome" });
    const submit = el("button", { className: "primary", id: "order", disabled: true, type: "submit" }, t("order"));
    const terms = service.terms;  // what the form shows: an order is refused if it changed
    let quoting = null;
    let ready = false;

    function remember() {
      sessionStorage.setItem(`form:${serviceId}`, JSON.stringify(form));
    }

    const fields = service.fields.map((field) => {
      const id = `field-${field.param}`;
      let input;
      if (field.kind === "choice") {
        input = el("select", { id, name: field.param },
          el("option", { value: "" }, field.required ? "—" : t("optional")),
          field.choices.map((choice) => el("option", { value: choice, selected: form.values[field.param] === choice }, choice)));
      } else if (field.multiline) {
        input = el("textarea", { id, name: field.param, value: form.values[field.param] || "" });
      } else {
        input = el("input", { id, name: field.param, value: form.values[field.param] || "",
          inputMode: field.kind === "number" ? "numeric" : "text", autocomplete: "off",
          placeholder: field.example || "" });
      }
      inputs[field.param] = input;
      errors[field.param] = el("p", { className: "error", id: `error-${field.param}`, hidden: true });
      const hints = [];
      if (field.multiline) hints.push(t("lines"));
      if (field.low !== null && field.high !== null) hints.push(`${count(field.low)} – ${count(field.high)}`);
      else if (field.rule) hints.push(field.rule);
      const presets = field.presets.length ? el("div", { className: "presets" }, field.presets.map((amount) =>
        el("button", { type: "button", onclick: () => { input.value = String(amount); changed(field.param); } }, count(amount)))) : null;
      input.addEventListener("input", () => changed(field.param));
      input.addEventListener("blur", () => { touched.add(field.param); drawErrors(); });
      return el("div", { className: "field" },
        el("label", { htmlFor: id }, field.label, field.required ? "" : el("span", { className: "muted" }, ` (${t("optional")})`)),
        input, presets, hints.length ? el("p", { className: "muted" }, hints.join(" · ")) : null, errors[field.param]);
    });

    let lastErrors = {};
    function drawErrors() {
      for (const field of service.fields) {
        const message = touched.has(field.param) ? lastErrors[field.param] : null;
        errors[field.param].textContent = message || "";
        errors[field.param].hidden = !message;
        inputs[field.param].classList.toggle("invalid", Boolean(message));
      }
    }

    function changed(param) {
      outcome.replaceChildren();  // a new order, not the one told below
      form.values[param] = inputs[param].value;
      touched.add(param);
      remember();
      quote();
    }

    async function quote() {
      if (quoting) quoting.abort();
      quoting = new AbortController();
      ready = false;
      submit.disabled = true;
      try {
        const answer = await api("quote", { service: serviceId, values: form.values }, quoting.signal);
        if (answer.terms !== terms) {  // the service changed since the form was drawn
          openService(serviceId, t("changed"));
          return;
        }
        lastErrors = answer.errors;
        outcome.replaceChildren();
        total.textContent = answer.total || "—";
        if (answer.balance) balance.textContent = answer.balance;
        shortNote.hidden = !answer.short;
        ready = !Object.keys(answer.errors).length && answer.total !== null && !answer.short;
        submit.disabled = !ready;
        drawErrors();
      } catch (error) {
        if (error.name !== "AbortError") outcome.replaceChildren(el("p", { className: "error" }, said(error)));
      }
    }

    async function order(event) {
      event.preventDefault();
      if (!ready || submit.dataset.busy) return;
      submit.dataset.busy = "1";
      submit.disabled = true;
      submit.textContent = t("ordering");
      try {
        const answer = await api("order", { service: serviceId, values: form.values, terms, token: form.token });
        const said = answer.outcome === "rejected" ? t("rejected", { reason: answer.refusal || "" }) : t(answer.outcome);
        outcome.replaceChildren(el("p", { className: "notice", dataset: { outcome: answer.outcome } }, said,
          answer.order.panel_id ? el("span", { className: "muted" }, ` #${answer.order.panel_id}`) : null));
        // This confirmation is spent: another order from this form is a new one, after a change.
        form.token = newToken();
        remember();
        ready = false;
      } catch (error) {
        if (error.status === 422) {
          lastErrors = error.body.errors;
          service.fields.forEach((f) => touched.add(f.param));
          drawErrors();
        } else {
          if (error.body.changed) openService(serviceId, said(error));
          else outcome.replaceChildren(el("p", { className: "error" }, said(error)));
        }
      } finally {
        delete submit.dataset.busy;
        submit.textContent = t("order");
        submit.disabled = !ready;
      }
    }

    const summary = el("div", { className: "summary" },
      el("div", {}, el("span", {}, t("total")), total),
      el("div", {}, el("span", { className: "muted" }, t("balance")), balance));
    show(backButton(), notice ? el("p", { className: "notice", id: "changed" }, notice) : null,
      el("h2", {}, service.name), el("p", { className: "muted" }, serviceMeta(service)),
      el("form", { id: "order-form", onsubmit: order, noValidate: true }, fields, summary, shortNote, submit, outcome));
    quote();
  }

  // -- my orders -----------------------------------------------------------------------

  async function openOrders() {
    state.stack = [];
    showBackButton();
    sessionStorage.removeItem("open");
    selectTab("orders");
    show(el("p", { className: "muted" }, t("loading")));
    try {
      const { orders } = await api("orders");
      show(orders.length ? el("ul", { className: "list", id: "orders" }, orders.map((o) =>
        el("li", { className: "item", dataset: { state: o.state } },
          el("span", { className: "name" }, o.service, o.progress ? el("div", { className: "muted" }, o.progress) : null),
          el("span", { className: "meta" }, [o.state_text, o.total].filter(Boolean).join(" · "),
            o.panel_id ? el("div", {}, `#${o.panel_id}`) : null)))) : el("p", { className: "muted" }, t("no_orders")));
    } catch (error) {
      failure(error);
    }
  }

  function selectTab(name) {
    for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.view === name);
  }

  // -- start ---------------------------------------------------------------------------

  async function start() {
    applyTheme(sdk ? sdk.themeParams : parseJson(launch.get("tgWebAppThemeParams")));
    listen("theme_changed", (data) => applyTheme(data.theme_params));
    listen("back_button_pressed", back);
    postEvent("web_app_ready");
    postEvent("web_app_expand");
    state.filters = { sort: "price", maxPrice: "", amount: "" };
    try {
      const catalog = await api("catalog");
      Object.assign(state, { texts: catalog.texts, locale: catalog.locale, platforms: catalog.platforms, services: catalog.services });
      state.byId = new Map(catalog.services.map((s) => [s.id, s]));
    } catch (error) {
      failure(error);
      return;
    }
    document.documentElement.lang = state.locale;
    document.getElementById("tab-catalog").textContent = t("catalog");
    document.getElementById("tab-orders").textContent = t("orders");
    document.getElementById("tab-catalog").onclick = home;
    document.getElementById("tab-orders").onclick = openOrders;
    const open = sessionStorage.getItem("open");
    home();
    if (open && state.byId.has(open)) go(() => openService(open));  // a reload keeps the form
    document.body.dataset.ready = "1";
    performance.mark("catalog-shown");
  }

  start();
})();
