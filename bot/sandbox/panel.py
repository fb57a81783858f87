"""An SMMLaba emulator on the panel's own wire protocol, for tests, benchmarks and the demo.

Same endpoint shape (form-encoded POST, or a query string), same envelope, errors as HTTP 200
with `result: error`. Orders progress through the status codes of docs/PANEL_API.md on a scalable
clock, deterministically under a seed. Fault knobs make it slow, flaky, or broken on purpose.

Outcomes (an inference, like the status table itself): completed ends with 5 and remain 0;
partial ends with 11 and 0 < remain < count (the undelivered part refunded); refunded ends with
11 and nothing delivered; cancelled ends with 7 before delivery starts.
"""

from __future__ import annotations

import asyncio
import heapq
import json
import logging
import random
import re
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from bot.sandbox.catalog import WireService, builtin_catalog
from bot.serving import serve_app

logger = logging.getLogger(__name__)

PATH = "/vkapi/v1/"
STATUS_TEXT = {
    1: "Ожидание",
    2: "В обработке",
    5: "Сделка завершена",
    7: "Отменено",
    11: "Возмещенный",
    17: "В работе",
}
CENT = Decimal("0.0001")

ERR_CREDENTIALS = "Неверный email или API ключ"
ERR_ACTION = "Неизвестное действие"
ERR_SERVICE = "Услуга не найдена"
ERR_ORDER = "Заказ не найден"
ERR_BALANCE = "Недостаточно средств на балансе"
ERR_INTERNAL = "Сервис временно недоступен, попробуйте позже"

HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class SandboxClock:
    """Panel time in seconds: real time times `scale`, plus whatever a test `advance`s."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self._started = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        return (time.monotonic() - self._started) * self.scale + self._offset

    def advance(self, seconds: float) -> None:
        self._offset += seconds


@dataclass(frozen=True)
class Faults:
    """Probabilities in [0, 1] per request; `actions` limits them to some actions."""

    latency: float = 0.0
    error_rate: float = 0.0
    html_rate: float = 0.0
    hang_rate: float = 0.0
    bad_json_rate: float = 0.0
    lost_answer_rate: float = 0.0  # the request is carried out, its answer never sent
    hang_seconds: float = 120.0
    actions: frozenset[str] | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault knobs: {', '.join(sorted(unknown))}")
        values = dict(data)
        if values.get("actions") is not None:
            values["actions"] = frozenset(values["actions"])
        return cls(**values)

    def applies_to(self, action: str) -> bool:
        return self.actions is None or action in self.actions


@dataclass
class Account:
    username: str
    api_key: str
    balance: Decimal
    # What `services` lists for this account instead of the panel's catalog (a panel may
    # price per account); orders still find services in the panel's catalog.
    catalog: list[WireService] | None = None

    def __repr__(self) -> str:
        return f"Account(username={self.username!r}, balance={self.balance})"


@dataclass(frozen=True)
class Rule:
    """A `valid` text read the way the panel checks it."""

    number: tuple[int, int] | None = None
    alternatives: tuple[tuple[str, ...], ...] = ()
    lines: tuple[int, int] | None = None

    @classmethod
    def parse(cls, text: str) -> Rule:
        if match := re.search(r"number from\s+(\d+)\s+to\s+(\d+)", text):
            return cls(number=(int(match[1]), int(match[2])))
        if match := re.search(r"consist of\s*:\s*(.+)", text):
            alternatives = tuple(
                tuple(part.strip() for part in alt.split(" and ") if part.strip())
                for alt in re.split(r"\s+or\s+", match[1].strip())
            )
            return cls(alternatives=tuple(alt for alt in alternatives if alt))
        if (match := re.search(r"from\s+(\d+)\s+to\s+(\d+)\s+comments", text)) is not None:
            return cls(lines=(int(match[1]), int(match[2])))
        return cls()


@dataclass(frozen=True)
class Param:
    param: str
    name: str
    required: bool
    rule: Rule
    values: tuple[str, ...] | None


@dataclass(frozen=True)
class SandboxService:
    wire: WireService
    id: str
    amount: Decimal
    per: int
    params: tuple[Param, ...]

    @classmethod
    def from_wire(cls, wire: WireService) -> SandboxService:
        match = re.match(r"\s*([\d.,]+)\s*per\s*(\d+)", str(wire.get("price", "")))
        amount, per = (Decimal(match[1].replace(",", ".")), int(match[2])) if match else (0, 1)
        params = []
        for raw in wire.get("params") or []:
            values = raw.get("values")
            if isinstance(values, str):
                values = [values]
            params.append(
                Param(
                    param=str(raw["param"]),
                    name=str(raw.get("name") or raw["param"]),
                    required=str(raw.get("required", "0")).strip() == "1",
                    rule=Rule.parse(str(raw.get("valid") or "")),
                    values=tuple(values) if values else None,
                )
            )
        return cls(wire, str(wire["service"]), Decimal(amount), per, tuple(params))


@dataclass
class Order:
    id: str
    username: str
    service: SandboxService
    url: str
    count: int
    price: Decimal
    created: float
    outcome: str  # completed | partial | refunded | cancelled
    start_after: float
    duration: float
    deliver_share: Decimal
    in_progress_code: int
    settled: bool = False

    @property
    def ends_at(self) -> float:
        if self.outcome == "cancelled":
            return self.created + self.start_after
        return self.created + self.start_after + self.duration

    def state_at(self, now: float) -> tuple[int, int]:
        """(status code, remain) at panel time `now`."""
        elapsed = now - self.created
        if elapsed < self.start_after:
            return 1, self.count
        if self.outcome == "cancelled":
            return 7, self.count
        target = int(self.count * self.deliver_share)
        share = min(Decimal(1), Decimal(str((elapsed - self.start_after) / self.duration)))
        if share >= 1:
            return (5 if self.outcome == "completed" else 11), self.count - target
        return self.in_progress_code, self.count - int(target * share)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the panel saw it, API key left out."""

    action: str
    username: str
    fields: dict[str, str]
    at: float = field(default_factory=time.monotonic)


@dataclass
class SandboxPanel:
    """The panel's state; `app()` serves it. Tests reach in to set balances and faults."""

    catalog: list[WireService] = field(default_factory=builtin_catalog)
    seed: int = 0
    clock: SandboxClock = field(default_factory=SandboxClock)
    faults: Faults = field(default_factory=Faults)
    first_order_id: int = 7_000_000

    def __post_init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.orders: dict[str, Order] = {}
        self.requests: list[RecordedRequest] = []
        self.calls: Counter[str] = Counter()
        # Where requests came from (host, port): one entry per connection the clients opened.
        self.peers: set[tuple[str, int]] = set()
        self.set_catalog(self.catalog)
        self._rng = random.Random(self.seed)
        self._next_order = self.first_order_id
        self._unsettled: list[tuple[float, str]] = []
        self._stopping = asyncio.Event()

    def set_catalog(self, catalog: list[WireService]) -> None:
        """Offer another catalog from now on (the panel changed its services)."""
        self.catalog = catalog
        # Ids are matched byte for byte; of two entries with one id, the first is found.
        self._services: dict[str, SandboxService] = {}
        for service in map(SandboxService.from_wire, catalog):
            self._services.setdefault(service.id, service)

    def add_account(self, username: str, api_key: str, balance: Decimal | str = "1000") -> Account:
        account = Account(username, api_key, Decimal(balance))
        self.accounts[username] = account
        return account

    def set_faults(self, **knobs: Any) -> None:
        """Change fault knobs at run time: `set_faults(hang_rate=1.0)`; `set_faults()` heals."""
        self.faults = Faults.from_mapping(knobs)

    def create_order(self, username: str, service_id: str, url: str, count: int) -> str:
        """An order as if `add` had been called, without the HTTP round trip or the charge:
        for setting up benchmarks with many open orders."""
        service = self._services[service_id]
        price = (service.amount * count / service.per).quantize(CENT, ROUND_HALF_UP)
        return self._new_order(self.accounts[username], service, url, count, price).id

    def order_status(self, order_id: str) -> tuple[int, int]:
        return self.orders[order_id].state_at(self.clock.now())

    # -- HTTP ----------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", PATH, self._handle)
        app.router.add_route("*", PATH.rstrip("/"), self._handle)
        app.router.add_post("/_sandbox/faults", self._handle_faults)
        app.router.add_get("/_sandbox/calls", self._handle_calls)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, _app: web.Application) -> None:
        self._stopping.set()

    async def _handle_calls(self, _request: web.Request) -> web.Response:
        """How many requests of each action the panel has answered (for benchmarks)."""
        return web.json_response(dict(self.calls))

    async def _handle_faults(self, request: web.Request) -> web.Response:
        try:
            self.faults = Faults.from_mapping(await request.json())
        except (ValueError, TypeError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        form: dict[str, str] = dict(request.query)
        if request.method == "POST":
            form.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        action = form.get("action", "")
        self.calls[action] += 1
        if request.transport is not None:
            self.peers.add(request.transport.get_extra_info("peername")[:2])
        self.requests.append(
            RecordedRequest(
                action,
                form.get("username", ""),
                {k: v for k, v in form.items() if k not in ("apikey", "username", "action")},
            )
        )
        faulty = await self._fault(action)
        if faulty is not None:
            return faulty
        self._settle()
        account = self.accounts.get(form.get("username", ""))
        if account is None or not secrets.compare_digest(
            account.api_key.encode(), form.get("apikey", "").encode()
        ):
            return _error(ERR_CREDENTIALS)
        handler = {
            "test": self._test,
            "balance": self._balance,
            "services": self._services_action,
            "add": self._add,
            "check": self._check,
        }.get(action)
        if handler is None:
            return _error(ERR_ACTION, f"action: {action}")
        response = handler(account, form)
        faults = self.faults
        lost = faults.lost_answer_rate and faults.applies_to(action)
        if lost and self._rng.random() < faults.lost_answer_rate:
            return await self._hang()
        return response

    async def _fault(self, action: str) -> web.StreamResponse | None:
        faults = self.faults
        if not faults.applies_to(action):
            return None
        if faults.latency:
            await asyncio.sleep(faults.latency)
        roll = self._rng.random
        if faults.hang_rate and roll() < faults.hang_rate:
            return await self._hang()
        if faults.html_rate and roll() < faults.html_rate:
            return web.Response(status=502, text=HTML_502, content_type="text/html")
        if faults.bad_json_rate and roll() < faults.bad_json_rate:
            return web.Response(
                text='{"result":"success","message":[{"category":"Inst',
                content_type="application/json",
            )
        if faults.error_rate and roll() < faults.error_rate:
            return _error(ERR_INTERNAL)
        return None

    async def _hang(self) -> web.Response:
        """No answer for `hang_seconds` (or until the panel stops), then a gateway's 504."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.faults.hang_seconds)
        return web.Response(status=504, text="Gateway Time-out", content_type="text/html")

    # -- actions -------------------------------------------------------------------------

    def _test(self, _account: Account, _form: dict[str, str]) -> web.Response:
        return _success({"test": "ok"})

    def _balance(self, account: Account, _form: dict[str, str]) -> web.Response:
        return _success({"balance": _money(account.balance)})

    def _services_action(self, account: Account, form: dict[str, str]) -> web.Response:
        wanted = form.get("service", "")
        if not wanted.strip():
            return _success(self.catalog if account.catalog is None else account.catalog)
        service = self._services.get(wanted)
        if service is None:
            return _error(ERR_SERVICE, f"service: {wanted}")
        return _success([service.wire])

    def _check(self, account: Account, form: dict[str, str]) -> web.Response:
        order = self.orders.get(form.get("orderid", "").strip())
        if order is None or order.username != account.username:
            return _error(ERR_ORDER)
        code, remain = order.state_at(self.clock.now())
        return _success(
            {
                "orderid": order.id,
                "name": order.service.wire.get("product_name", ""),
                "service": order.service.id,
                "price": _money(order.price),
                "status": str(code),
                "statusText": STATUS_TEXT[code],
                "url": order.url,
                "count": str(order.count),
                "remain": str(remain),
            }
        )

    def _add(self, account: Account, form: dict[str, str]) -> web.Response:
        service = self._services.get(form.get("service", ""))
        if service is None:
            return _error(ERR_SERVICE)
        count: int | None = None
        for param in service.params:
            value = form.get(param.param, "")
            problem = _validate(param, value)
            if problem:
                return _error(problem, f"param: {param.param}")
            if param.param == "count" and value.strip():
                count = int(value.strip())
            if param.rule.lines is not None:
                count = len([line for line in value.splitlines() if line.strip()])
        count = count or 1
        price = (service.amount * count / service.per).quantize(CENT, ROUND_HALF_UP)
        if price > account.balance:
            return _error(ERR_BALANCE)
        account.balance -= price
        order = self._new_order(account, service, form.get("url", ""), count, price)
        return _success({"orderid": order.id, "price": _money(price)})

    def _new_order(
        self, account: Account, service: SandboxService, url: str, count: int, price: Decimal
    ) -> Order:
        order_id = str(self._next_order)
        self._next_order += 1
        plan = random.Random(f"{self.seed}:{order_id}")
        outcome = plan.choices(
            ["completed", "partial", "refunded", "cancelled"], weights=[70, 12, 8, 10]
        )[0]
        share = {"completed": Decimal(1), "refunded": Decimal(0), "cancelled": Decimal(0)}.get(
            outcome, Decimal(plan.randint(20, 90)) / 100
        )
        order = Order(
            id=order_id,
            username=account.username,
            service=service,
            url=url,
            count=count,
            price=price,
            created=self.clock.now(),
            outcome=outcome,
            start_after=plan.uniform(5, 60),
            duration=plan.uniform(60, 600),
            deliver_share=share,
            in_progress_code=plan.choice([2, 2, 2, 17]),
        )
        self.orders[order_id] = order
        heapq.heappush(self._unsettled, (order.ends_at, order_id))
        return order

    def _settle(self) -> None:
        """Refund what finished orders did not deliver, as the panel would."""
        now = self.clock.now()
        while self._unsettled and self._unsettled[0][0] <= now:
            _, order_id = heapq.heappop(self._unsettled)
            order = self.orders[order_id]
            _, remain = order.state_at(now)
            refund = (order.price * remain / order.count).quantize(CENT, ROUND_HALF_UP)
            self.accounts[order.username].balance += refund
            order.settled = True


def _validate(param: Param, value: str) -> str | None:
    """The panel's refusal text for a bad value, or None."""
    if not value.strip():
        return f"Не заполнено поле «{param.name}»" if param.required else None
    rule = param.rule
    if param.values is not None and value not in param.values:
        return f"{param.name}: недопустимое значение, возможные: {', '.join(param.values)}"
    if rule.number is not None:
        low, high = rule.number
        if not re.fullmatch(r"[0-9]+", value.strip()):
            return f"{param.name}: нужно целое число"
        if not low <= int(value) <= high:
            return f"{param.name}: число должно быть от {low} до {high}"
    if rule.alternatives and not any(
        all(fragment in value for fragment in alt) for alt in rule.alternatives
    ):
        return f"{param.name}: неверная ссылка"
    if rule.lines is not None:
        low, high = rule.lines
        lines = len([line for line in value.splitlines() if line.strip()])
        if not low <= lines <= high:
            return f"{param.name}: нужно от {low} до {high} строк, получено {lines}"
    return None


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, ROUND_HALF_UP))


def _success(message: Any) -> web.Response:
    return _envelope({"result": "success", "error": "", "message": message})


def _error(text: str, message: str = "") -> web.Response:
    return _envelope({"result": "error", "error": text, "message": message})


def _envelope(body: dict[str, Any]) -> web.Response:
    # The real panel is PHP behind nginx and labels JSON as text/html; clients must not care.
    return web.Response(
        text=json.dumps(body, ensure_ascii=False), content_type="text/html", charset="utf-8"
    )


@asynccontextmanager
async def serve(panel: SandboxPanel, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve `panel` until the block ends; yields its endpoint URL (port 0 picks a free one)."""
    async with serve_app(panel.app(), host, port) as base:
        yield f"{base}{PATH}"


def demo_panel(
    *,
    username: str = "demo@example.com",
    api_key: str | None = None,
    balance: Decimal | str = "5000",
    **options: Any,
) -> tuple[SandboxPanel, Account]:
    """A panel with one funded demo account; the key is random unless one is given."""
    panel = SandboxPanel(**options)
    account = panel.add_account(username, api_key or secrets.token_hex(16), balance)
    return panel, account


__all__ = [
    "PATH",
    "STATUS_TEXT",
    "Account",
    "Faults",
    "RecordedRequest",
    "SandboxClock",
    "SandboxPanel",
    "demo_panel",
    "serve",
]
