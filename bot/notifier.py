"""The notifier: the outbox drained to Telegram within Telegram's limits, each row marked sent
only once Telegram accepted it (at least once: a crash in between can send one twice). The
words come from a `Renderer` given by the composition root (`handlers.notifications.render`).
"""

from __future__ import annotations

import asyncio
import logging
import time
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
from bot.ratelimit import TokenBucket
from storage import outbox, users
from storage.db import Database
from storage.outbox import OutboxMessage

if TYPE_CHECKING:
    from bot.metrics import Metrics, NotifyResult

logger = logging.getLogger(__name__)

Rendered = tuple[str, InlineKeyboardMarkup | None]
# (kind, payload) -> the message's text and buttons, called in the person's locale.
Renderer = Callable[[str, dict[str, Any]], Rendered]


@dataclass(frozen=True)
class NotifierConfig:
    per_second: float = 25.0
    per_chat_per_second: float = 1.0
    batch: int = 50
    idle_poll: float = 0.5
    max_attempts: int = 8
    retry_base: float = 2.0
    retry_max: float = 300.0


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
        # Evenly spaced: never more than `per_second` messages in any second.
        self._overall = TokenBucket(config.per_second, clock=clock)
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
        attempted = 0
        for message in await outbox.due(self._db, now, self._config.batch):
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
            attempted += 1
        return attempted

    def _chat_ready(self, chat_id: int) -> bool:
        last = self._last_sent.get(chat_id)
        return last is None or self._clock() - last >= 1 / self._config.per_chat_per_second

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
            text, markup = await self._render(message, locale)
            await self._bot.send_message(message.chat_id, text, reply_markup=markup)
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

    async def _render(self, message: OutboxMessage, locale: str | None) -> Rendered:
        if locale is None:
            user = await users.get(self._db, message.user_id)
            language = (user.language or user.telegram_language) if user else None
            locale = locale_for(self._i18n, language)
        with self._i18n.context(), self._i18n.use_locale(locale):
            return self._renderer(message.kind, message.payload)
