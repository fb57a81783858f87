"""The Mini App in a real browser: headless Chromium from the distribution's packages, driven
by Playwright, against the real bot and the sandboxes. A person opens it as Telegram would
(signed initData in the URL's fragment), browses, searches, fills the form and orders."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from benchmarks import mini_app as mini_app_benchmark
from bot.sandbox.telegram import SimulatedUser
from tests.harness import BotHarness

CHROMIUM = shutil.which("chromium")
# As the machine's own probe starts it: no sandbox as root, and no calls to Google's hosts
# (this machine's network refuses them).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent.parent / "docs" / "screenshots"
LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
}
DARK = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "link_color": "#6ab3f3",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if CHROMIUM is None:
        message = "no Chromium: apt-get install -y chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI runs every test)")
        pytest.skip(message)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


def launch_url(
    base: str, person: SimulatedUser, theme: dict[str, str] = LIGHT, **signed: Any
) -> str:
    """The page as Telegram opens it: initData, version and theme in the fragment."""
    fragment = urlencode(
        {
            "tgWebAppData": person.web_app_init_data(**signed),
            "tgWebAppVersion": "8.0",
            "tgWebAppThemeParams": json.dumps(theme),
        }
    )
    return f"{base}#{fragment}"


async def opened(browser: Browser, url: str) -> Page:
    page = await browser.new_page(viewport={"width": 390, "height": 760})
    await page.goto(url)
    return page


async def ready(page: Page) -> None:
    await expect(page.locator("body[data-ready]")).to_have_count(1)


async def open_likes(page: Page) -> None:
    """Instagram → Likes → Instagram Likes, by taps."""
    await page.locator(".item", has_text="Instagram").first.click()
    await page.get_by_text("Likes", exact=True).click()
    await page.locator(".item", has_text="Instagram Likes").first.click()
    await expect(page.locator("#order-form")).to_be_visible()


async def test_a_person_browses_fills_the_form_wrong_then_right_and_orders_once(
    browser: Browser, harness: BotHarness, mini_app: str
) -> None:
    anna = harness.user(501, "Anna")
    page = await opened(browser, launch_url(mini_app, anna))
    await ready(page)
    await open_likes(page)
    await page.fill("#field-url", "hello")
    await page.fill("#field-count", "10")
    await page.locator("#field-url").blur()
    await expect(page.locator("#error-count")).to_contain_text("below the minimum of 50")
    await expect(page.locator("#error-url")).to_be_visible()
    await expect(page.locator("#order")).to_be_disabled()
    await page.fill("#field-url", "https://instagram.com/p/abc")
    await page.locator("#order-form .presets button", has_text="1,000").click()
    await expect(page.locator("#error-url")).to_be_hidden()
    await expect(page.locator("#error-count")).to_be_hidden()
    await expect(page.locator("#total")).to_have_text("RUB\xa00.50")
    await expect(page.locator("#order")).to_be_enabled()
    # A double tap on Order.
    await page.locator("#order").dblclick()
    await expect(page.locator("#outcome .notice")).to_contain_text("Order placed")
    assert harness.panel_calls("add") == 1
    [placed] = harness.panel.orders.values()
    assert (placed.url, placed.count) == ("https://instagram.com/p/abc", 1000)
    cards = [m for m in anna.bot_messages if "Instagram Likes" in m.text]
    assert len(cards) == 1
    assert f"Order #{placed.id}" in cards[0].text
    assert "placed" in cards[0].text
    # A reload keeps the form, with a new confirmation: it places nothing by itself.
    await page.reload()
    await expect(page.locator("#field-url")).to_have_value("https://instagram.com/p/abc")
    assert harness.panel_calls("add") == 1
    await page.locator(".tab[data-view=orders]").click()
    await expect(page.locator("#orders .item")).to_have_count(1)
    await expect(page.locator("#orders")).to_contain_text(f"#{placed.id}")


@pytest.mark.parametrize(
    ("language", "query", "expected"),
    [("en", "instagram likes", "Instagram Likes"), ("ru", "лайки инстаграм", "Instagram Likes")],
)
async def test_search_as_you_type_in_english_and_russian(
    browser: Browser, harness: BotHarness, mini_app: str, language: str, query: str, expected: str
) -> None:
    person = harness.user(501, "Anna", language_code=language)
    page = await opened(browser, launch_url(mini_app, person))
    await ready(page)
    await page.locator("#search").press_sequentially(query, delay=20)
    await expect(page.locator("#results")).to_have_attribute("data-query", query)
    await expect(page.locator("#results .item").first).to_contain_text(expected)


@pytest.mark.parametrize("how", ["forged", "stale", "missing"])
async def test_without_genuine_init_data_the_page_shows_nothing(
    browser: Browser, harness: BotHarness, mini_app: str, how: str
) -> None:
    anna = harness.user(501, "Anna")
    url = {
        "forged": launch_url(mini_app, anna).replace(
            "%2522id%2522%253A501", "%2522id%2522%253A502"
        ),
        "stale": launch_url(mini_app, anna, signed_at=time.time() - 7200),
        "missing": mini_app,
    }[how]
    assert how == "missing" or url != launch_url(mini_app, anna)
    answers: list[int] = []
    page = await browser.new_page()
    page.on("response", lambda r: answers.append(r.status) if "/api/" in r.url else None)
    await page.goto(url)
    await expect(page.locator(".notice")).to_contain_text("Open this page from the bot")
    assert answers == [401]
    await expect(page.locator(".item")).to_have_count(0)


async def test_another_persons_orders_are_never_shown(
    browser: Browser, harness: BotHarness, mini_app: str
) -> None:
    anna, boris = harness.user(501, "Anna"), harness.user(502, "Boris")
    page = await opened(browser, launch_url(mini_app, anna))
    await ready(page)
    await open_likes(page)
    await page.fill("#field-url", "https://instagram.com/p/abc")
    await page.fill("#field-count", "500")
    await expect(page.locator("#order")).to_be_enabled()
    await page.locator("#order").click()
    await expect(page.locator("#outcome .notice")).to_contain_text("Order placed")
    his = await opened(browser, launch_url(mini_app, boris))
    await ready(his)
    await his.locator(".tab[data-view=orders]").click()
    await expect(his.locator("#view")).to_contain_text("No orders yet.")


@pytest.mark.parametrize(("name", "theme"), [("light", LIGHT), ("dark", DARK)])
async def test_the_theme_follows_telegram_and_screenshots_are_saved(
    browser: Browser, harness: BotHarness, mini_app: str, name: str, theme: dict[str, str]
) -> None:
    person = harness.user(501, "Анна", language_code="ru")
    page = await opened(browser, launch_url(mini_app, person, theme))
    await ready(page)
    await expect(page.locator("html")).to_have_attribute("data-scheme", name)
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(theme["bg_color"][i : i + 2], 16) for i in (1, 3, 5))
    assert background == f"rgb({red}, {green}, {blue})"
    await open_likes(page)
    await page.fill("#field-url", "https://instagram.com/p/abc")
    await page.fill("#field-count", "2500")
    await expect(page.locator("#total")).to_have_text("1,25\xa0₽")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"mini-app-{name}.png")
    # The person switches Telegram's theme while the page is open.
    other, other_theme = ("dark", DARK) if name == "light" else ("light", LIGHT)
    await page.evaluate(
        "theme => window.Telegram.WebView.receiveEvent('theme_changed', {theme_params: theme})",
        other_theme,
    )
    await expect(page.locator("html")).to_have_attribute("data-scheme", other)


async def test_the_benchmark_measures_a_page_that_showed_its_catalog(browser: Browser) -> None:
    figures = await mini_app_benchmark.measure(services=200, keystrokes=5)
    assert figures["catalog_services"] == 200
    assert figures["keystrokes"] >= 5
    assert figures["transfer_kb"] > 0
    assert figures["first_render_ms"] > 0


async def find_and_open(page: Page, query: str, name: str) -> None:
    await page.fill("#search", query)
    await page.locator("#results .item", has_text=name).first.click()
    await expect(page.locator("#order-form")).to_be_visible()


async def test_the_form_follows_the_params_rules_lines_choices_and_optional_fields(
    browser: Browser, harness: BotHarness, mini_app: str
) -> None:
    anna = harness.user(501, "Anna")
    page = await opened(browser, launch_url(mini_app, anna))
    await ready(page)
    # One comment a line, 5 to 500 of them, 2.50 each.
    await find_and_open(page, "instagram custom comments", "Instagram Custom Comments")
    await page.fill("#field-url", "https://instagram.com/p/abc")
    await page.fill("#field-comments", "Nice!\nGreat\nWow")
    await page.locator("#field-url").focus()
    await expect(page.locator("#error-comments")).to_contain_text("at least 5 are needed")
    await page.fill("#field-comments", "Nice!\nGreat\n\nWow\nSuper\nLovely\nCool")
    await expect(page.locator("#error-comments")).to_be_hidden()
    await expect(page.locator("#total")).to_have_text("RUB\xa015.00")
    await page.locator("#order").click()
    await expect(page.locator("#outcome .notice")).to_contain_text("Order placed")
    # A choice, and optional fields left empty: not sent at all.
    await page.locator(".tab[data-view=catalog]").click()
    await find_and_open(page, "tiktok views drip-feed", "TikTok Views · drip-feed")
    await expect(page.locator("label[for=field-runs]")).to_contain_text("optional")
    await page.fill("#field-url", "https://vm.tiktok.com/abc")
    await page.fill("#field-count", "1000")
    await expect(page.locator("#total")).to_have_text("RUB\xa01.40")
    await page.select_option("#field-speed", "fast")
    await expect(page.locator("#order")).to_be_enabled()
    await page.locator("#order").click()
    await expect(page.locator("#outcome .notice")).to_contain_text("Order placed")
    sent = [r.fields for r in harness.panel.requests if r.action == "add"]
    assert sent[0]["comments"] == "Nice!\nGreat\nWow\nSuper\nLovely\nCool"
    assert sent[1]["speed"] == "fast"
    assert "runs" not in sent[1]


async def test_a_category_sorts_and_filters_by_price_and_amount(
    browser: Browser, harness: BotHarness, mini_app: str
) -> None:
    anna = harness.user(501, "Anna")
    page = await opened(browser, launch_url(mini_app, anna))
    await ready(page)
    catalog = await page.evaluate(
        "data => fetch('api/catalog', {headers: {'X-Telegram-Init-Data': data}})"
        ".then(answer => answer.json())",
        anna.web_app_init_data(),
    )
    p = next(i for i, x in enumerate(catalog["platforms"]) if x["name"] == "Instagram")
    c = next(i for i, x in enumerate(catalog["platforms"][p]["categories"]) if x["name"] == "Likes")
    likes = [s for s in catalog["services"] if (s["p"], s["c"]) == (p, c)]
    assert len({s["per_1000"] for s in likes}) > 2  # enough prices to see an order

    def price(service: dict[str, Any]) -> Decimal:
        return Decimal(service["per_1000"])

    async def shown() -> list[str]:
        # The list is redrawn within each input event, before the action returns.
        items = page.locator("#view ul.list .item")
        ids: list[str] = await items.evaluate_all("items => items.map(i => i.dataset.id)")
        return ids

    await page.locator(".item", has_text="Instagram").first.click()
    await page.get_by_text("Likes", exact=True).click()
    assert await shown() == [s["id"] for s in sorted(likes, key=price)]
    await page.select_option("#view select", "price_desc")
    assert await shown() == [s["id"] for s in sorted(likes, key=price, reverse=True)]
    cheap = sorted(price(s) for s in likes)[len(likes) // 2]
    await page.fill("#view input[inputmode=decimal]", str(cheap))
    expected = [s for s in sorted(likes, key=price, reverse=True) if price(s) <= cheap]
    assert await shown() == [s["id"] for s in expected]
    big = max(s["max"] for s in likes)
    await page.fill("#view input[inputmode=numeric]", str(big))
    assert await shown() == [s["id"] for s in expected if s["min"] <= big <= s["max"]]
