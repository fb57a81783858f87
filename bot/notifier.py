"""The notifier: the outbox drained to Telegram within Telegram's limits, each row marked sent
only once Telegram accepted it (at least once: a crash in between can send one twice). The
words come from a `Renderer` given by the composition root (`handlers.notifications.render`).

An order's card is one message, edited as the order moves (`Kind.ORDER_CARD`): the
confirmation becomes it when the panel's answer is told at once; told later (the loop, after
a restart), the answer is a new message, which becomes the card.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.background import BackgroundLoop
from bot.i18n import locale_for
from bot.ratelimit import Limiter, Limiters, TokenBucket
from storage import orders, outbox, users
from storage.db import Database
from storage.orders import Order
from storage.outbox import Kind, OutboxMessage

if TYPE_CHECKING:
    from bot.metrics import Metrics, NotifyResult

logger = logging.getLogger(__name__)

Rendered = tuple[str, InlineKeyboardMarkup | None]
# (kind, payload, the order it is about as it is now) -> the message's text and buttons,
# called in the person's locale.
Renderer = Callable[[str, dict[str, Any], Order | None], Rendered]
# What shows the order as it is now: its card.
CARDS = frozenset({Kind.ORDER_CARD, Kind.ORDER_PLACED, Kind.ORDER_UNCERTAIN})
CARDS_REMEMBERED = 10_000


@dataclass(frozen=True)
class NotifierConfig:
    per_second: float = 25.0
    per_chat_per_second: float = 1.0
    batch: int = 50
    idle_poll: float = 0.5
    max_attempts: int = 8
    retry_base: float = 2.0
    retry_max: float = 300.0
    # How long messages taken by this replica stay its own: longer than sending a batch
    # takes at `per_second`, with Telegram's timeout.
    lease: float = 120.0


class Notifier(BackgroundLoop):
    """At most `per_second` messages overall and `per_chat_per_second` to any chat; a 429
    pauses all sending for its `retry_after`. A 403 (the person blocked the bot) marks them
    inactive and drops their queue; other failures are retried with backoff, then parked
    where admins can see them."""

    name = "notifier"

    def __init__(
        self,
        bot: Bot,
        db: Database,
        i18n: I18n,
        config: NotifierConfig,
        renderer: Renderer,
        *,
        metrics: Metrics | None = None,
        limiters: Limiters | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bot = bot
        self._metrics = metrics
        self._db = db
        self._i18n = i18n
        self._config = config
        self._renderer = renderer
        self._clock = clock
        self._last_sent: dict[int, float] = {}
        # What each card (chat, message) was last edited to: an edit that would change
        # nothing is not sent (Telegram refuses it).
        self._cards: OrderedDict[tuple[int, int], Rendered] = OrderedDict()
        # Evenly spaced: never more than `per_second` messages in any second.
        self._overall: Limiter = (
            TokenBucket(config.per_second, clock=clock)
            if limiters is None
            else limiters("telegram", config.per_second, 1.0)
        )
        self._paused_until = 0.0
        super().__init__()
        self.retry_after = config.idle_poll

    async def run_once(self) -> None:
        if not await self.drain():
            await self.pause(self._config.idle_poll)

    async def drain(self) -> int:
        """Send what is due now, within the limits; returns how many were attempted."""
        now = self._clock()
        if now < self._paused_until:
            await self.pause(self._paused_until - now)
            return 0
        attempted: set[int] = set()
        claimed = await outbox.claim_due(
            self._db,
            now,
            self._config.batch,
            lease_until=now + self._config.lease,
            spacing=1 / self._config.per_chat_per_second,
        )
        try:
            for message in claimed:
                if self.stopping or self._clock() < self._paused_until:
                    break
                if not self._chat_ready(message.chat_id):
                    continue
                await self._overall.acquire()
                attempt = asyncio.ensure_future(self.deliver(message))
                try:
                    await asyncio.shield(attempt)
                except asyncio.CancelledError:
                    # Cancelled mid-send: let Telegram's answer be recorded first.
                    await attempt
                    raise
                attempted.add(message.id)
        finally:
            # What was taken and not attempted is due again, for any replica.
            for message in claimed:
                if message.id not in attempted:
                    await outbox.unclaim(self._db, message.id)
        return len(attempted)

    def _chat_ready(self, chat_id: int) -> bool:
        last = self._last_sent.get(chat_id)
        return last is None or self._clock() - last >= 1 / self._config.per_chat_per_second

    async def take(self, message: OutboxMessage) -> bool:
        """Take `message` to deliver it now, unless a notifier (this one or another replica's)
        is at it: False then, and it is theirs to send."""
        now = self._clock()
        return await outbox.claim(self._db, message.id, now, now + self._config.lease)

    async def told(self, message: OutboxMessage) -> None:
        """The code that held `message` back told the person the same thing in its own words
        (a screen it owns): nothing is left to send."""
        await outbox.mark_sent(self._db, message.id)

    async def deliver(
        self, message: OutboxMessage, *, locale: str | None = None, in_place: bool = False
    ) -> bool:
        """Send one queued message now: the loop's, or the code's that held it back for itself.
        If Telegram refuses, the row stays queued and the loop sends it when its time comes.
        `locale`: the person's, when the caller knows it already; `in_place`: the person is
        looking at the order's card (its confirmation), so the answer goes there. Returns
        whether it went there."""
        self._last_sent[message.chat_id] = self._clock()
        try:
            order = await self._order_of(message)
            if message.kind == Kind.ORDER_CARD and (order is None or order.card_message_id is None):
                await outbox.mark_sent(self._db, message.id)
                return False
            text, markup = await self._render(message, locale, order)
            is_edit = message.kind == Kind.ORDER_CARD
            if (is_edit or in_place) and await self._edit_card(message, order, text, markup):
                self._count("edited")
                await outbox.mark_sent(self._db, message.id)
                return True
            if is_edit:
                # No card to edit (deleted, too old): its end still comes as a message.
                await outbox.mark_sent(self._db, message.id)
                return False
            sent = await self._bot.send_message(message.chat_id, text, reply_markup=markup)
        except TelegramRetryAfter as exc:
            self._count("rate_limited")
            self._paused_until = self._clock() + exc.retry_after
            logger.warning("Telegram asks to slow down: pausing for %ss", exc.retry_after)
            await outbox.retry_later(
                self._db, message.id, "429 Too Many Requests", self._paused_until
            )
        except TelegramForbiddenError as exc:
            self._count("blocked")
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
            self._count("parked")
            logger.error("notification %s refused: %s; parked", message.id, exc.message)
            await outbox.park(self._db, message.id, exc.message)
        except (TelegramAPIError, TimeoutError, OSError) as exc:
            await self._failed(message, f"{type(exc).__name__}: {exc}")
        else:
            self._count("sent")
            await outbox.mark_sent(self._db, message.id)
            if order is not None:  # the order's card from now on
                await orders.set_card(self._db, order.id, sent.message_id)
        return False

    def _count(self, result: NotifyResult) -> None:
        if self._metrics is not None:
            self._metrics.notified(result)

    async def _failed(self, message: OutboxMessage, error: str) -> None:
        attempts = message.attempts + 1
        if attempts >= self._config.max_attempts:
            self._count("parked")
            logger.error(
                "notification %s failed %d times (%s); parked", message.id, attempts, error
            )
            await outbox.park(self._db, message.id, error)
            return
        self._count("failed")
        delay = min(self._config.retry_max, self._config.retry_base * 2 ** (attempts - 1))
        logger.info("notification %s failed (%s); retry in %.1fs", message.id, error, delay)
        await outbox.retry_later(self._db, message.id, error, self._clock() + delay)

    async def _order_of(self, message: OutboxMessage) -> Order | None:
        """The order a card shows, as it is now: an edit queued behind a later change, or
        after the person's own Refresh, shows the latest."""
        if message.kind not in CARDS:
            return None
        return await orders.get(self._db, int(message.payload["order"]))

    async def _edit_card(
        self,
        message: OutboxMessage,
        order: Order | None,
        text: str,
        markup: InlineKeyboardMarkup | None,
    ) -> bool:
        """Show the order's card in its message; False when there is none Telegram lets us
        edit. Other failures are the caller's, as for any message."""
        if order is None or order.card_message_id is None:
            return False
        card = (message.chat_id, order.card_message_id)
        shown = (text, markup)
        if self._cards.get(card) == shown:
            return True  # an edit queued before a later one, which showed this already
        try:
            await self._bot.edit_message_text(
                text,
                chat_id=message.chat_id,
                message_id=order.card_message_id,
                reply_markup=markup,
            )
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                return True
            logger.info("the card of order %s is gone: %s", order.id, exc.message)
            return False
        except (TelegramRetryAfter, TelegramForbiddenError):
            raise  # about the chat, not the card
        except TelegramAPIError as exc:
            if message.kind == Kind.ORDER_CARD:
                raise  # retried, as any message
            # The person waits on this answer: it comes as a message of its own at once.
            logger.info("could not show order %s in its card: %s", order.id, exc.message)
            return False
        self._cards[card] = shown
        self._cards.move_to_end(card)
        if len(self._cards) > CARDS_REMEMBERED:
            self._cards.popitem(last=False)
        return True

    async def _render(
        self, message: OutboxMessage, locale: str | None, order: Order | None
    ) -> Rendered:
        if locale is None:
            user = await users.get(self._db, message.user_id)
            language = (user.language or user.telegram_language) if user else None
            locale = locale_for(self._i18n, language)
        with self._i18n.context(), self._i18n.use_locale(locale):
            return self._renderer(message.kind, message.payload, order)
