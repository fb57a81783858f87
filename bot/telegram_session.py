"""The HTTP session to the Bot API, with aiogram's response models kept warm, and button taps
answered without ever failing the update.

aiogram parametrizes `Response[T]` for every call it makes. pydantic caches parametrized
models only weakly, so a garbage collection can drop one and the next call rebuilds it: about
10 ms of CPU each time, which under load was most of the bot's time per update. Holding a
reference to each `Response[T]` for the session's life keeps them cached.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import aiogram.methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import AnswerCallbackQuery
from aiogram.methods.base import Response, TelegramMethod, TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger(__name__)


def _returned_types() -> set[Any]:
    types = set()
    for name in dir(aiogram.methods):
        method = getattr(aiogram.methods, name)
        if isinstance(method, type) and issubclass(method, TelegramMethod):
            returning = getattr(method, "__returning__", None)
            if returning is not None and not isinstance(returning, property):
                types.add(returning)
    return types


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


class BotSession(AiohttpSession):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.middleware(QuietCallbackAnswers())
        self.response_models = tuple(
            Response[returned]  # type: ignore[valid-type]
            for returned in _returned_types()
        )
