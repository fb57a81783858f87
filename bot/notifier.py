"""Notifications: the outbox drained to Telegram within Telegram's limits.

A row is marked sent only after Telegram accepted the message, so nothing is lost across a
crash; the tracker's dedupe keys make sure an event is queued once, so a restart never queues
it again. (A crash in the instant between Telegram's answer and the row being marked can still
send that one message twice: delivery is at least once.)

Rates: a global bucket (about 25 messages a second) and one message a second per chat; a 429
pauses the whole sender for its `retry_after`. A 403 (the person blocked the bot) marks them
inactive and drops their queue. Other failures retry with backoff and are parked after a few
attempts, where admins can see them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.background import BackgroundLoop
from bot.formatting import duration, money, number, progress_bar, quote, short, utc_time
from bot.i18n import locale_for
from bot.ordering import ORDER_PLACED, ORDER_REJECTED, ORDER_UNCERTAIN
from bot.panel_watch import PANEL_DOWN, PANEL_UP
from handlers import keyboards
from storage import outbox, users
from storage.db import Database
from storage.orders import OrderState
from storage.outbox import OutboxMessage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotifierConfig:
    per_second: float = 25.0
    per_chat_per_second: float = 1.0
    batch: int = 50
    idle_poll: float = 0.5
    max_attempts: int = 8
    retry_base: float = 2.0
    retry_max: float = 300.0
    currency: str = "RUB"


class Notifier(BackgroundLoop):
    name = "notifier"

    def __init__(
        self,
        bot: Bot,
        db: Database,
        i18n: I18n,
        config: NotifierConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bot = bot
        self._db = db
        self._i18n = i18n
        self._config = config
        self._clock = clock
        self._last_sent: dict[int, float] = {}
        self._sent_times: list[float] = []
        self._paused_until = 0.0
        super().__init__()
        self.retry_after = config.idle_poll

    async def tick(self) -> None:
        if not await self.drain():
            await self.pause(self._config.idle_poll)

    async def drain(self) -> int:
        """Send what is due now, within the limits; returns how many were attempted."""
        now = self._clock()
        if now < self._paused_until:
            await self.pause(self._paused_until - now)
            return 0
        attempted = 0
        for message in await outbox.due(self._db, now, self._config.batch):
            if self.stopping or self._clock() < self._paused_until:
                break
            if not self._chat_ready(message.chat_id):
                continue
            await self._global_slot()
            attempt = asyncio.ensure_future(self.deliver(message))
            try:
                await asyncio.shield(attempt)
            except asyncio.CancelledError:
                # Cancelled mid-send: let Telegram's answer be recorded first.
                await attempt
                raise
            attempted += 1
        return attempted

    def _chat_ready(self, chat_id: int) -> bool:
        last = self._last_sent.get(chat_id)
        return last is None or self._clock() - last >= 1 / self._config.per_chat_per_second

    async def _global_slot(self) -> None:
        window = 1.0
        while True:
            now = self._clock()
            self._sent_times = [t for t in self._sent_times if now - t < window]
            if len(self._sent_times) < self._config.per_second:
                self._sent_times.append(now)
                return
            await asyncio.sleep(window - (now - self._sent_times[0]))

    async def told(self, message: OutboxMessage) -> None:
        """The code that held `message` back told the person the same thing in its own words
        (a screen it owns): nothing is left to send."""
        await outbox.mark_sent(self._db, message.id)

    async def deliver(self, message: OutboxMessage, *, locale: str | None = None) -> None:
        """Send one queued message now: the loop's, or the code's that held it back for itself.
        If Telegram refuses, the row stays queued and the loop sends it when its time comes.
        `locale`: the person's, when the caller knows it already."""
        self._last_sent[message.chat_id] = self._clock()
        try:
            text, markup = await self.render(message, locale)
            await self._bot.send_message(message.chat_id, text, reply_markup=markup)
        except TelegramRetryAfter as exc:
            self._paused_until = self._clock() + exc.retry_after
            logger.warning("Telegram asks to slow down: pausing for %ss", exc.retry_after)
            await outbox.retry_later(
                self._db, message.id, "429 Too Many Requests", self._paused_until
            )
        except TelegramForbiddenError as exc:
            await users.set_active(self._db, message.user_id, False)
            dropped = await outbox.drop_for_user(self._db, message.user_id, exc.message)
            logger.info(
                "user %s is unreachable (%s): marked inactive, %d messages dropped",
                message.user_id,
                exc.message,
                dropped,
            )
        except TelegramBadRequest as exc:
            # Retrying the same request gets the same answer.
            logger.error("notification %s refused: %s; parked", message.id, exc.message)
            await outbox.park(self._db, message.id, exc.message)
        except (TelegramAPIError, TimeoutError, OSError) as exc:
            await self._failed(message, f"{type(exc).__name__}: {exc}")
        else:
            await outbox.mark_sent(self._db, message.id)

    async def _failed(self, message: OutboxMessage, error: str) -> None:
        attempts = message.attempts + 1
        if attempts >= self._config.max_attempts:
            logger.error(
                "notification %s failed %d times (%s); parked", message.id, attempts, error
            )
            await outbox.park(self._db, message.id, error)
            return
        delay = min(self._config.retry_max, self._config.retry_base * 2 ** (attempts - 1))
        logger.info("notification %s failed (%s); retry in %.1fs", message.id, error, delay)
        await outbox.retry_later(self._db, message.id, error, self._clock() + delay)

    async def render(
        self, message: OutboxMessage, locale: str | None = None
    ) -> tuple[str, InlineKeyboardMarkup | None]:
        if locale is None:
            user = await users.get(self._db, message.user_id)
            language = (user.language or user.telegram_language) if user else None
            locale = locale_for(self._i18n, language)
        with self._i18n.context(), self._i18n.use_locale(locale):
            if message.kind == PANEL_DOWN:
                return panel_down_text(message.payload), None
            if message.kind == PANEL_UP:
                return panel_up_text(message.payload), None
            if message.kind in OUTCOMES:
                return outcome_text(message.kind, message.payload, self._config.currency)
            event = OrderEvent.from_payload(message.payload)
            return status_text(event), keyboards.notification(event.order)


OUTCOMES = frozenset({ORDER_PLACED, ORDER_UNCERTAIN, ORDER_REJECTED})


def outcome_text(
    kind: str, payload: dict[str, Any], currency: str
) -> tuple[str, InlineKeyboardMarkup]:
    """What became of an order the panel was asked to place (see `bot.ordering`)."""
    order = int(payload["order"])
    label = quote(str(payload.get("panel_order_id") or ""))
    if kind == ORDER_PLACED:
        charged = payload.get("charged")
        price = f" · {money(Decimal(charged))} {quote(currency)}" if charged else ""
        text = _("✅ Order #{id} placed{price}\nI'll message you when it moves.")
        return text.format(id=label, price=price), keyboards.placed(order)
    if kind == ORDER_REJECTED:
        text = _("❌ The panel refused the order: «{reason}». Nothing was charged.").format(
            reason=quote(short(str(payload.get("error") or ""), 500))
        )
        return text, keyboards.placed(order)
    text = _(
        "⏳ No answer from the panel about your order of {service}: it may or may not have "
        "been placed. Look for it on the panel, then tell me what you found, so you are not "
        "charged twice."
    ).format(service=quote(short(str(payload.get("service") or ""), 200)))
    return text, keyboards.uncertain(order)


@dataclass(frozen=True)
class OrderEvent:
    """What the tracker put in an `order_status` notification."""

    order: int
    label: str
    service: str
    state: OrderState
    status: str
    count: int | None
    remain: int | None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> OrderEvent:
        return cls(
            order=int(payload["order"]),
            label=str(payload.get("panel_order_id") or payload["order"]),
            service=str(payload.get("service") or ""),
            state=OrderState(payload["state"]),
            status=str(payload.get("status_text") or ""),
            count=payload.get("count"),
            remain=payload.get("remain"),
        )

    @property
    def delivered(self) -> int | None:
        if self.count is None or self.remain is None:
            return None
        return max(0, self.count - self.remain)


def status_text(event: OrderEvent) -> str:
    """The notification for one order event, in the current locale."""
    label, service, status = quote(event.label), quote(event.service), quote(event.status)
    head = _("🔔 Order #{id} · {service}").format(id=label, service=service)
    delivered, count = event.delivered, event.count
    if event.state is OrderState.COMPLETED:
        text = _("✅ Order #{id} is complete.").format(id=label)
        if delivered is not None:
            text = _("✅ Order #{id} is complete — {delivered} of {count} delivered.").format(
                id=label, delivered=number(delivered), count=number(count)
            )
        return f"{text}\n{service}"
    if event.state is OrderState.PARTIAL:
        detail = _(
            "⚠️ Partly delivered: {delivered} of {count}. "
            "The panel refunds the rest to your balance."
        ).format(delivered=number(delivered), count=number(count))
    elif event.state is OrderState.CANCELLED:
        detail = _(
            "✖️ Cancelled by the panel — «{status}». Any charge goes back to your panel balance."
        ).format(status=status)
    elif event.state is OrderState.REFUNDED:
        detail = _("↩️ Refunded — «{status}». The money is back on your panel balance.").format(
            status=status
        )
    elif event.state is OrderState.LOST:
        detail = _(
            "❓ The panel no longer knows this order, so I stopped tracking it. "
            "Please check it on the panel."
        )
    else:
        word = _("Waiting") if event.state is OrderState.PENDING else _("In progress")
        detail = f"{word} — «{status}»" if status else word
        if delivered is not None and count:
            detail += "\n" + _("{bar} · {delivered} of {count}").format(
                bar=progress_bar(delivered, count), delivered=number(delivered), count=number(count)
            )
    return f"{head}\n{detail}"


def panel_down_text(payload: dict[str, Any]) -> str:
    """For admins: the panel has been unreachable for a while."""
    text = _(
        "⚠️ Admin: SMMLaba has not answered since {since} UTC. Orders are safe and tracking "
        "waits; I'll tell you when it is back."
    ).format(since=utc_time(float(payload["since"])))
    cause = str(payload.get("cause") or "")
    if cause:
        text += "\n" + _("Last error: {cause}").format(cause=quote(short(cause, 300)))
    return text


def panel_up_text(payload: dict[str, Any]) -> str:
    """For admins: the panel answers again."""
    outage = float(payload["until"]) - float(payload["since"])
    return _("✅ Admin: SMMLaba answers again (down for about {duration}).").format(
        duration=duration(outage)
    )
