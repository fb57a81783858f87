"""The HTTP session to the Bot API: button taps answered without ever failing the update."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import AnswerCallbackQuery, GetUpdates
from aiogram.methods.base import TelegramMethod, TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger(__name__)


class QuietCallbackAnswers(BaseRequestMiddleware):
    """A tap Telegram does not let us answer (too old: the handler took longer than Telegram
    waits; a 429; a network error) only leaves its spinner to time out: the update goes on as
    if answered."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        try:
            return await make_request(bot, method)
        except TelegramAPIError as exc:
            if not isinstance(method, AnswerCallbackQuery):
                raise
            logger.info("could not answer a button tap: %s", exc.message)
            return True


class TelegramContact(BaseRequestMiddleware):
    """When the Bot API last answered (a refusal is an answer: it was reached; a network
    error, a 5xx, a refused token (401) or a conflict with another poller or a webhook (409)
    is not: the bot can do nothing with those), and when the last poll for updates ended,
    either way: what /readyz and /healthz read."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.answered_at: float | None = None
        self.polled_at: float | None = None

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        try:
            result = await make_request(bot, method)
        except (
            TelegramNetworkError,
            TelegramServerError,
            TelegramUnauthorizedError,
            TelegramConflictError,
        ):
            raise
        except TelegramAPIError:
            self.answered_at = self._clock()
            raise
        else:
            self.answered_at = self._clock()
            return result
        finally:
            if isinstance(method, GetUpdates):
                self.polled_at = self._clock()


class BotSession(AiohttpSession):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.contact = TelegramContact()
        self.middleware(self.contact)
        self.middleware(QuietCallbackAnswers())
