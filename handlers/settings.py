"""/settings: what the person wants to hear about."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers import keyboards, screens
from handlers.callbacks import NotifySetting
from handlers.screens import Event
from storage import users
from storage.db import Database
from storage.users import NotifyMode


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(settings_command, Command("settings"))
    router.callback_query.register(choose, NotifySetting.filter())
    return router


async def settings_command(message: Message, db: Database) -> None:
    await show(message, db)


async def choose(callback: CallbackQuery, callback_data: NotifySetting, db: Database) -> None:
    mode = NotifyMode.FINAL if callback_data.mode == "final" else NotifyMode.ALL
    await users.set_notify(db, callback.from_user.id, mode)
    await show(callback, db)


async def show(event: Event, db: Database) -> None:
    assert event.from_user is not None
    user = await users.get(db, event.from_user.id)
    assert user is not None, "KnownUsers creates everyone's row on their first update"
    text = "\n".join(
        [
            _("🔔 <b>Notifications</b>"),
            _("Every change: each time an order moves."),
            _("Only when done: completion, partial delivery, cancellation, refund."),
            _("To silence one order, use 🔕 on its card."),
        ]
    )
    await screens.show(event, text, keyboards.notify_settings(user.notify))
