"""The HTTP session to the Bot API, with aiogram's response models kept warm.

aiogram parametrizes `Response[T]` for every call it makes. pydantic caches parametrized
models only weakly, so a garbage collection can drop one and the next call rebuilds it: about
10 ms of CPU each time, which under load was most of the bot's time per update. Holding a
reference to each `Response[T]` for the session's life keeps them cached.
"""

from __future__ import annotations

from typing import Any

import aiogram.methods
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods.base import Response, TelegramMethod


def _returned_types() -> set[Any]:
    types = set()
    for name in dir(aiogram.methods):
        method = getattr(aiogram.methods, name)
        if isinstance(method, type) and issubclass(method, TelegramMethod):
            returning = getattr(method, "__returning__", None)
            if returning is not None and not isinstance(returning, property):
                types.add(returning)
    return types


class BotSession(AiohttpSession):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.response_models = tuple(
            Response[returned]  # type: ignore[valid-type]
            for returned in _returned_types()
        )
