"""The Mini App's page and its JSON API, at /app/ of the bot's aiohttp server.

Every API request carries Telegram's `initData` in the `X-Telegram-Init-Data` header; a
missing, forged or stale one gets 401 and no data. Then the bot's own rules apply to the
person it names, as in the chat: the allowlist, their panel account (linked, or the
operator's for the team), a per-person request budget. Orders go through `Placements.place`
with a token per confirmation, so a double submit or a reload places one order, and the chat
hears of it as it does of an order placed there.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.accounts import Account, Accounts
from bot.balance_watch import after_order
from bot.balances import Balance, BalancesAhead
from bot.catalog import CatalogSnapshot
from bot.config import Settings
from bot.formatting import money
from bot.i18n import locale_for
from bot.notifier import Notifier
from bot.ordering import Draft, Outcome, Placements
from bot.params import InvalidValue, fields_of, quantity, total
from bot.ratelimit import TokenBucket
from bot.smmlaba import PanelException, Service
from handlers.middlewares import InFlight, may_use, no_account_text, private_text
from storage import orders, users
from storage.db import Database
from storage.orders import Order
from webapp import shapes
from webapp.init_data import NotSigned, Person, person_from

logger = logging.getLogger(__name__)

PATH = "/app/"
STATIC = Path(__file__).parent / "static"
INIT_DATA_HEADER = "X-Telegram-Init-Data"
# The page's own id for one confirmation; the order's token names the person too, so one
# person's token never finds another's order.
CONFIRMATION = re.compile(r"[A-Za-z0-9_-]{8,64}")
SEARCH_LIMIT = 50
ORDERS_SHOWN = 50
# Search as you type asks once a keystroke: a budget well above typing, far below a flood.
REQUESTS_PER_SECOND = 20.0
REQUESTS_BURST = 60
BUDGETS_KEPT = 10_000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PERSON = web.RequestKey("person", Person)
ACCOUNT = web.RequestKey("account", Account)
LOCALE = web.RequestKey("locale", str)


@dataclass
class MiniApp:
    """What the API works with: the same services the chat's handlers get."""

    settings: Settings
    db: Database
    accounts: Accounts
    placements: Placements
    notifier: Notifier
    i18n: I18n
    balances: BalancesAhead  # the chat's: an order here makes the chat's known balance stale
    in_flight: InFlight  # a stop waits for orders under way here as for the chat's updates
    _budgets: dict[int, TokenBucket] = field(default_factory=dict)
    _known: set[int] = field(default_factory=set)
    _catalog_bodies: shapes.CatalogBodies = field(default_factory=shapes.CatalogBodies)

    def add_to(self, app: web.Application) -> None:
        """The page at /app/, its files at /app/static/, the API at /app/api/."""
        app.router.add_get(PATH, _index)
        app.router.add_static(f"{PATH}static/", STATIC)
        api = web.Application(middlewares=[self._identify])
        api.router.add_get("/catalog", self.catalog)
        api.router.add_get("/search", self.search)
        api.router.add_get("/service/{id}", self.service)
        api.router.add_post("/quote", self.quote)
        api.router.add_post("/order", self.order)
        api.router.add_get("/orders", self.orders)
        app.add_subapp(f"{PATH}api/", api)

    # -- who asks ------------------------------------------------------------------------

    @web.middleware
    async def _identify(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Who asks, and whether they may: Telegram's word for who, the chat's rules for
        whether. The handler then runs in the person's language, with their account."""
        token = self.settings.require_bot_token().get_secret_value()
        try:
            person = person_from(
                request.headers.get(INIT_DATA_HEADER, ""),
                bot_token=token,
                max_age=self.settings.webapp_max_age_seconds,
            )
        except NotSigned as refused:
            logger.info("mini app request refused: %s", refused)
            return web.json_response({"error": "unauthorized"}, status=401)
        stored = await users.get(self.db, person.id)
        language = (stored.language if stored else None) or person.language_code
        locale = locale_for(self.i18n, language)
        with self.i18n.context(), self.i18n.use_locale(locale):
            if not may_use(self.settings, person.id):
                return _error(403, private_text(person.id))
            if not self._budget(person.id).try_acquire():
                return _error(429, _("⏳ Slow down a little — I'll answer again in a moment."))
            account = self.accounts.for_user(person.id)
            if account is None:
                return _error(403, no_account_text())
            if person.id not in self._known:
                await users.touch(
                    self.db,
                    person.id,
                    chat_id=person.id,
                    first_name=person.first_name,
                    telegram_language=person.language_code,
                )
                self._known.add(person.id)
            request[PERSON], request[ACCOUNT], request[LOCALE] = person, account, locale
            try:
                return await handler(request)
            except Refused as refused:
                return _error(refused.status, refused.text)

    def _budget(self, user_id: int) -> TokenBucket:
        budget = self._budgets.get(user_id)
        if budget is None:
            if len(self._budgets) >= BUDGETS_KEPT:  # a full budget is a fresh one: forget it
                self._budgets = {k: b for k, b in self._budgets.items() if not b.is_full()}
            budget = self._budgets[user_id] = TokenBucket(REQUESTS_PER_SECOND, REQUESTS_BURST)
        return budget

    # -- the catalog ---------------------------------------------------------------------

    async def _snapshot(self, request: web.Request) -> CatalogSnapshot:
        account = request[ACCOUNT]
        snapshot = await account.catalog.snapshot()
        if snapshot is None:
            raise Refused(
                503,
                _(
                    "⚠️ The catalog isn't available right now: SMMLaba isn't answering. "
                    "Try again in a few minutes."
                ),
            )
        return snapshot

    async def catalog(self, request: web.Request) -> web.StreamResponse:
        """The whole catalog, the page's words and the person's language, in one answer."""
        snapshot = await self._snapshot(request)
        body = self._catalog_bodies.get(snapshot, request[LOCALE], self.settings.panel_currency)
        response = web.Response(body=body, content_type="application/json")
        response.enable_compression()
        return response

    async def search(self, request: web.Request) -> web.StreamResponse:
        """The services a query finds, best first, by the index `/search` uses."""
        snapshot = await self._snapshot(request)
        found = snapshot.search(request.query.get("q", ""), limit=SEARCH_LIMIT)
        return web.json_response(
            {"ids": [service.id for service in found.services], "approximate": found.approximate}
        )

    def _service(self, snapshot: CatalogSnapshot, service_id: str) -> Service:
        service = snapshot.by_id(service_id)
        if service is None:
            raise Refused(404, _("This service is no longer offered."))
        return service

    async def service(self, request: web.Request) -> web.StreamResponse:
        """One service and its form's fields; the balance, read when the form opens."""
        service = self._service(await self._snapshot(request), request.match_info["id"])
        return web.json_response(
            {
                **shapes.service_json(service, request[LOCALE], self.settings.panel_currency),
                "fields": [shapes.field_json(spec) for spec in fields_of(service)],
                "terms": shapes.terms_digest(service),
                "balance": self._money(request, await self._funds(request)),
            }
        )

    async def _funds(self, request: web.Request) -> Decimal | None:
        """The person's balance, read ahead and kept a while as in the chat; None when the
        panel does not tell it now."""
        try:
            return await self._balance(request).get()
        except PanelException:
            return None

    def _balance(self, request: web.Request) -> Balance:
        return self.balances.of(request[PERSON].id, request[ACCOUNT].panel)

    def _money(self, request: web.Request, amount: Decimal | None) -> str | None:
        if amount is None:
            return None
        return money(amount, self.settings.panel_currency, locale=request[LOCALE])

    # -- the form ------------------------------------------------------------------------

    async def quote(self, request: web.Request) -> web.StreamResponse:
        """The form as it stands: what is wrong with each value, the total, the balance."""
        asked = await _json_object(request)
        service = self._service(await self._snapshot(request), str(asked.get("service", "")))
        values, problems = _checked(service, asked.get("values"))
        cost = total(service, values)
        # Never the panel on each keystroke: the balance known, else one read for later.
        balance = self._balance(request)
        funds = balance.known()
        if funds is None:
            balance.ask()
        return web.json_response(
            {
                "errors": problems,
                "total": self._money(request, cost),
                "balance": self._money(request, funds),
                "short": cost is not None and funds is not None and cost > funds,
                "terms": shapes.terms_digest(service),
            }
        )

    async def order(self, request: web.Request) -> web.StreamResponse:
        """Place the order the form shows, once per confirmation token."""
        asked = await _json_object(request)
        confirmation = str(asked.get("token", ""))
        if not CONFIRMATION.fullmatch(confirmation):
            return _error(400, _("That form has expired. Please open the service again."))
        person, account = request[PERSON], request[ACCOUNT]
        token = f"web:{person.id}:{confirmation}"
        earlier = await orders.get_by_token(self.db, person.id, token)
        if earlier is not None:  # a double submit, or the page reloaded
            return await self._again(request, earlier, asked)
        service = self._service(await self._snapshot(request), str(asked.get("service", "")))
        if asked.get("terms") != shapes.terms_digest(service):
            return _error(
                409,
                _("The price or the rules of this service changed. Check the form again."),
                changed=True,
            )
        values, problems = _checked(service, asked.get("values"))
        if problems:
            return web.json_response({"errors": problems}, status=422)
        with self.in_flight.holding():
            placement = await self.placements.place(
                account.panel,
                token=token,
                user_id=person.id,
                chat_id=person.id,
                account=account.name,
                draft=Draft(
                    service_id=service.id,
                    service_name=service.name,
                    values=values,
                    quantity=quantity(service, values),
                    total=total(service, values),
                ),
                first_check_in=self.settings.check_interval_seconds,
            )
            if placement.outcome is Outcome.ALREADY:  # submitted twice at the same moment
                return await self._again(request, placement.order, asked)
            if placement.outcome is Outcome.NOT_SENT:
                return _error(503, _("The panel didn't answer; nothing was ordered. Try again."))
            # The chat hears of it as of an order placed there (the card, then its news).
            # Taken first: a submit of the same confirmation may be telling it already.
            message = placement.message
            if message is not None and await self.notifier.take(message):
                await self.notifier.deliver(message, locale=request[LOCALE])
            if placement.outcome in (Outcome.PLACED, Outcome.UNCERTAIN):
                await after_order(self._balance(request), self.db, account.name)
        return self._placed(request, placement.outcome, placement.order, placement.refusal)

    async def _again(
        self, request: web.Request, order: Order, asked: dict[str, Any]
    ) -> web.StreamResponse:
        """A confirmation submitted again: what became of its order, told in the chat now if
        whoever placed it died before telling it. Other values under the same confirmation
        were never confirmed: refused."""
        snapshot = await request[ACCOUNT].catalog.snapshot()
        service = None if snapshot is None else snapshot.by_id(order.service_id)
        same = asked.get("service") == order.service_id and (
            service is None or _checked(service, asked.get("values"))[0] == order.params
        )
        if not same:
            return _error(
                409,
                _("This form already placed an order. Open the service again for a new one."),
            )
        message = await self.placements.untold_answer(order, self.notifier.take)
        if message is not None:
            await self.notifier.deliver(message, locale=request[LOCALE])
        return self._placed(request, Outcome.ALREADY, order)

    def _placed(
        self, request: web.Request, outcome: Outcome, order: Order, refusal: str | None = None
    ) -> web.StreamResponse:
        return web.json_response(
            {
                "outcome": outcome.value,
                "refusal": refusal,
                "order": shapes.order_json(order, request[LOCALE], self.settings.panel_currency),
            }
        )

    # -- my orders -----------------------------------------------------------------------

    async def orders(self, request: web.Request) -> web.StreamResponse:
        person = request[PERSON]
        mine = await orders.list_for_user(self.db, person.id, limit=ORDERS_SHOWN)
        locale, currency = request[LOCALE], self.settings.panel_currency
        return web.json_response({"orders": [shapes.order_json(o, locale, currency) for o in mine]})


async def _index(_request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def _error(status: int, text: str, **more: Any) -> web.Response:
    return web.json_response({"error": text, **more}, status=status)


class Refused(Exception):
    """A request the API answers with `status` and the person's words for why."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        asked = json.loads(await request.read())
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
        asked = None
    if not isinstance(asked, dict):
        raise Refused(400, _("That request isn't one the page sends."))
    return asked


def _checked(service: Service, given: object) -> tuple[dict[str, str], dict[str, str]]:
    """The values to send, checked by the chat's rules, and what is wrong with the others."""
    given = given if isinstance(given, dict) else {}
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    for spec in fields_of(service):
        typed = given.get(spec.param)
        text = typed if isinstance(typed, str) else ""
        if not text.strip() and not spec.required:
            continue
        try:
            values[spec.param] = spec.check(text)
        except InvalidValue as problem:
            problems[spec.param] = str(problem)
    return values, problems
