"""The SMMLaba API client: form-encoded POSTs, one envelope, typed answers.

Reads (`test`, `balance`, `services`, `check`) are retried with exponential backoff and jitter
when the panel is unavailable. `add` is sent exactly once: a lost answer to `add` may still have
placed an order, and only a person can decide what to do about that; `PanelNotSent` says it
cannot have.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx
from pydantic import SecretStr, ValidationError

from bot.health import PanelHealth
from bot.smmlaba.errors import (
    PanelError,
    PanelNotSent,
    PanelProtocolError,
    PanelUnavailable,
)
from bot.smmlaba.models import OrderStatus, PlacedOrder, Service, to_decimal
from bot.smmlaba.pool import URGENT, panel_http

if TYPE_CHECKING:
    from bot.metrics import Metrics, PanelResult

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://smmlaba.com/vkapi/v1/"

# Actions a person waits for: they may use the connections kept free of background work. A
# client made with `background=True` (the tracker's) never does, whatever the action; the
# catalog's refresh (`services`) never does either.
URGENT_ACTIONS = frozenset({"test", "balance", "add", "check"})

# Failures before any byte of the request was written: no free connection, or no connection
# could be opened (httpcore raises these only while connecting, TLS included). A failure on a
# kept-alive connection (`WriteError`, `ReadError`, ...) may come after the panel read it all.
NOT_SENT = (httpx.PoolTimeout, httpx.ConnectError, httpx.ConnectTimeout)

ModelT = TypeVar("ModelT", OrderStatus, PlacedOrder)
AnswerT = TypeVar("AnswerT")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How reads are retried: `attempts` in all, waits growing from `base_delay` to `max_delay`."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, retry: int) -> float:
        """Full jitter: a random wait up to the exponential step, so clients do not sync up."""
        step = min(self.max_delay, self.base_delay * 2**retry)
        return random.uniform(step / 2, step)


class SmmLabaClient:
    """One panel account. Share `http` between accounts to keep a single connection pool.
    Each request is counted in `metrics`, when given; each balance read is told to
    `on_balance` (the account's name, the amount)."""

    def __init__(
        self,
        username: str,
        api_key: SecretStr,
        *,
        url: str = DEFAULT_URL,
        timeout: float = 20.0,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        health: PanelHealth | None = None,
        background: bool = False,
        metrics: Metrics | None = None,
        on_balance: Callable[[str, Decimal], None] | None = None,
    ) -> None:
        self._url = url
        self._on_balance = on_balance
        self._metrics = metrics
        self._health = health or PanelHealth()
        self._urgent = frozenset() if background else URGENT_ACTIONS
        self._username = username
        self._api_key = api_key
        self._retry = retry or RetryPolicy()
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._owns_http = http is None
        self._http = http or panel_http()

    def __repr__(self) -> str:
        return f"SmmLabaClient(url={self._url!r}, username={self._username!r})"

    __str__ = __repr__

    @property
    def username(self) -> str:
        return self._username

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- actions -------------------------------------------------------------------------

    async def test(self) -> None:
        """Succeeds when the credentials are accepted; raises `PanelError` otherwise."""
        await self._read("test", {}, _ignored)

    async def balance(self) -> Decimal:
        amount = await self._read("balance", {}, _parse_balance)
        if self._on_balance is not None:  # whoever asked, the low-balance watch hears it
            self._on_balance(self._username, amount)
        return amount

    async def services(self, service_id: str | None = None) -> list[Service]:
        """The whole catalog, or the one service `service_id` names."""
        fields = {} if service_id is None else {"service": service_id}
        return await self._read("services", fields, _parse_services)

    async def check(self, order_id: str) -> OrderStatus:
        return await self._read("check", {"orderid": order_id}, _parse_check)

    async def add(self, service_id: str, params: Mapping[str, str]) -> PlacedOrder:
        """Place an order. Never retried: on `PanelUnavailable` the order may or may not exist,
        unless it is `PanelNotSent`."""
        fields = {"service": service_id, **params}
        return await self._call("add", fields, self._placed)

    def _placed(self, message: Any) -> PlacedOrder:
        try:
            return _parse("add", PlacedOrder, message)
        except PanelProtocolError:
            # The panel said success: an order id may be in there, and this is its one record.
            logger.warning(
                "add succeeded with an answer of another shape: %s", self._shown(message)
            )
            raise

    def _shown(self, message: Any) -> str:
        return self._scrub(repr(message))[:500]

    # -- transport -----------------------------------------------------------------------

    async def _read(
        self, action: str, fields: Mapping[str, str], parse: Callable[[Any], AnswerT]
    ) -> AnswerT:
        for retry in range(self._retry.attempts):
            try:
                return await self._call(action, fields, parse)
            except PanelUnavailable as exc:
                if retry + 1 >= self._retry.attempts:
                    raise
                delay = self._retry.delay(retry)
                logger.warning("%s; retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: RetryPolicy.attempts must be at least 1")

    async def _call(
        self, action: str, fields: Mapping[str, str], parse: Callable[[Any], AnswerT]
    ) -> AnswerT:
        """One request: its answer read by `parse`, told to the health and counted (its time
        without the parsing, which is ours)."""
        started = time.perf_counter()
        try:
            message = await self._exchange(action, fields)
        except PanelUnavailable as exc:
            self._health.failed(str(exc))
            self._count(action, "unavailable", time.perf_counter() - started)
            raise
        except PanelError as exc:
            self._health.answered()
            self._count(action, "refused", time.perf_counter() - started)
            # The person may be shown the bot's own words for it: the panel's stay here.
            logger.info("%s", exc)
            raise
        except PanelProtocolError:
            self._health.answered()
            self._count(action, "malformed", time.perf_counter() - started)
            raise
        took = time.perf_counter() - started
        self._health.answered()
        try:
            answer = parse(message)
        except PanelProtocolError:
            self._count(action, "malformed", took)
            raise
        self._count(action, "ok", took)
        return answer

    def _count(self, action: str, result: PanelResult, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.panel_request(action, result, seconds)

    async def _exchange(self, action: str, fields: Mapping[str, str]) -> Any:
        form = {"username": self._username, "apikey": self._api_key.get_secret_value()}
        form["action"] = action
        form.update(fields)
        extensions = {URGENT: True} if action in self._urgent else {}
        started = time.monotonic()
        try:
            response = await self._http.post(
                self._url, data=form, timeout=self._timeout, extensions=extensions
            )
        except httpx.HTTPError as exc:
            if isinstance(exc, httpx.TimeoutException):
                reason = f"timed out ({type(exc).__name__})"
            else:
                reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
            failure = PanelNotSent if isinstance(exc, NOT_SENT) else PanelUnavailable
            raise failure(action, self._scrub(reason)) from None
        logger.debug(
            "panel %s -> HTTP %s in %.3fs", action, response.status_code, time.monotonic() - started
        )
        return self._open_envelope(action, response)

    def _open_envelope(self, action: str, response: httpx.Response) -> Any:
        if response.status_code >= 500:
            raise PanelUnavailable(action, f"HTTP {response.status_code}")
        try:
            body = json.loads(response.content.decode("utf-8-sig"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            kind = response.headers.get("content-type", "unknown type").split(";")[0]
            raise PanelUnavailable(
                action, f"HTTP {response.status_code} with a body that is not JSON ({kind})"
            ) from None
        if not isinstance(body, dict) or "result" not in body:
            raise PanelUnavailable(action, f"HTTP {response.status_code} without the envelope")
        result = body.get("result")
        if result == "success":
            return body.get("message")
        if result == "error":
            text = body.get("error")
            message = body.get("message")
            if not text and isinstance(message, str):
                text = message
            raise PanelError(
                action,
                self._scrub(str(text or "")),
                self._scrub(message) if isinstance(message, str) else "",
            )
        raise PanelProtocolError(action, f"result is {self._scrub(repr(result))[:80]}")

    def _scrub(self, text: str) -> str:
        """Remove the API key from any text the panel or a library produced."""
        secret = self._api_key.get_secret_value()
        return text.replace(secret, "***") if secret else text


def _ignored(_message: Any) -> None:
    return None


def _parse_balance(message: Any) -> Decimal:
    value = message.get("balance") if isinstance(message, dict) else message
    try:
        return to_decimal(value)
    except ValueError as exc:
        raise PanelProtocolError("balance", f"balance is not a number: {exc}") from None


def _parse_check(message: Any) -> OrderStatus:
    return _parse("check", OrderStatus, message)


def _parse(action: str, model: type[ModelT], message: Any) -> ModelT:
    try:
        return model.model_validate(message)
    except ValidationError as exc:
        raise PanelProtocolError(action, _first_problem(exc)) from None


def _parse_services(message: Any) -> list[Service]:
    """A list of services; a single service object or a PHP-style id->service object too."""
    if isinstance(message, dict):
        entries = [message] if "service" in message else list(message.values())
    elif isinstance(message, list):
        entries = message
    else:
        raise PanelProtocolError("services", f"message is {type(message).__name__}, not a list")
    services: list[Service] = []
    skipped: list[str] = []
    for entry in entries:
        try:
            services.append(Service.model_validate(entry))
        except ValidationError as exc:
            skipped.append(_first_problem(exc))
    if skipped:
        logger.warning("skipped %d malformed services, first: %s", len(skipped), skipped[0])
        if not services:
            raise PanelProtocolError("services", f"no service could be read: {skipped[0]}")
    return services


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_input=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "message"
    return f"{where}: {error['msg']}"
