"""Middlewares that decide what reaches the handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.utils.i18n import gettext as _

from storage import users


async def refuse(event: TelegramObject, text: str) -> None:
    """Say no: a reply to a message, an alert on a button."""
    if isinstance(event, Message):
        await event.answer(text)
    elif isinstance(event, CallbackQuery):
        await event.answer(text[:200], show_alert=True)


class AllowList(BaseMiddleware):
    """Only the people in ALLOWED_USERS or ADMIN_IDS get past, when either is set. Everyone
    else gets one sentence with their id, to send to the owner; nothing else, no panel call."""

    def __init__(self, allowed: frozenset[int]) -> None:
        self._allowed = allowed

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        person: User | None = data.get("event_from_user")
        if not self._allowed or (person is not None and person.id in self._allowed):
            return await handler(event, data)
        if person is None:
            return None
        text = _(
            "This bot is private. Your Telegram id is {id} — send it to the bot's owner if you "
            "should have access."
        ).format(id=person.id)
        await refuse(event, text)
        return None


class RequirePanel(BaseMiddleware):
    """Without a panel account nothing can be browsed or ordered: say so, once per update."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if data.get("panel") is not None:
            return await handler(event, data)
        text = _(
            "This bot has no SMMLaba account to order on yet. Ask its owner to set "
            "SMMLABA_USERNAME and SMMLABA_APIKEY."
        )
        await refuse(event, text)
        return None


class KnownUsers(BaseMiddleware):
    """Every person gets a `users` row on their first update after start-up (orders and
    notifications need it); later updates cost nothing. /start refreshes it anyway."""

    def __init__(self) -> None:
        self._known: set[int] = set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        person: User | None = data.get("event_from_user")
        if person is not None and person.id not in self._known:
            await users.touch(
                data["db"],
                person.id,
                chat_id=person.id,
                first_name=person.first_name,
                telegram_language=person.language_code,
            )
            self._known.add(person.id)
        return await handler(event, data)
