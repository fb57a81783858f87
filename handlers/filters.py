"""Filters on typed messages.

Every filter in this bot is a `Filter` with an async `__call__`: aiogram runs any plain
callable in a worker thread on every check, and that includes a magic filter (`F.text`) and
a bare `State` given as a filter (use `StateFilter(state)`). Under load those thread hops
were most of the time before a typed value reached its handler.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message


class TypedText(Filter):
    """A text message that is not a command: a command still works in the middle of a form."""

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and not message.text.startswith("/")


class NotText(Filter):
    """A photo, sticker, voice note... anything but text."""

    async def __call__(self, message: Message) -> bool:
        return message.text is None
