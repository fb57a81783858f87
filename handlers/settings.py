"""/settings and /language: what the person hears about, and in which language."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, User
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import LANGUAGE_NAMES, UserLocale, locale_for
from handlers import keyboards, screens
from handlers.callbacks import LanguageChoice, Menu, NotifySetting
from handlers.screens import Event
from storage import users
from storage.db import Database
from storage.users import NotifyMode


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(settings_command, Command("settings"))
    router.callback_query.register(settings_button, Menu.filter(F.to == "settings"))
    router.callback_query.register(choose, NotifySetting.filter())
    router.message.register(language_command, Command("language"))
    router.callback_query.register(language_button, Menu.filter(F.to == "language"))
    router.callback_query.register(choose_language, LanguageChoice.filter())
    return router


async def settings_command(message: Message, event_from_user: User, db: Database) -> None:
    await show(message, event_from_user, db)


async def settings_button(callback: CallbackQuery, db: Database) -> None:
    await show(callback, callback.from_user, db)


async def choose(callback: CallbackQuery, callback_data: NotifySetting, db: Database) -> None:
    mode = NotifyMode.FINAL if callback_data.mode == "final" else NotifyMode.ALL
    user = await users.get(db, callback.from_user.id)
    if user is not None and user.notify is mode:
        return  # chosen already: the screen shows it
    await users.set_notify(db, callback.from_user.id, mode)
    await show(callback, callback.from_user, db)


async def show(event: Event, person: User, db: Database) -> None:
    user = await users.get(db, person.id)
    mode = user.notify if user is not None else NotifyMode.FINAL  # KnownUsers made the row
    text = "\n".join(
        [
            _("🔔 <b>Notifications</b>"),
            _("An order's card shows how it moves, without a sound. A message of its own:"),
            _("Start and end: when it starts, and when it is done."),
            _("Only when done: completion, partial delivery, cancellation, refund."),
            _("To silence one order, use 🔕 on its card."),
        ]
    )
    await screens.show(event, text, keyboards.notify_settings(mode))


async def language_command(message: Message, event_from_user: User, db: Database) -> None:
    await show_languages(message, event_from_user, db)


async def language_button(callback: CallbackQuery, db: Database) -> None:
    await show_languages(callback, callback.from_user, db)


async def show_languages(event: Event, person: User, db: Database) -> None:
    user = await users.get(db, person.id)
    chosen = user.language if user else None
    await screens.show(
        event, _("🌐 Which language should I speak?"), keyboards.languages(LANGUAGE_NAMES, chosen)
    )


async def choose_language(
    callback: CallbackQuery,
    callback_data: LanguageChoice,
    db: Database,
    i18n: I18n,
    user_locale: UserLocale,
) -> None:
    code = callback_data.code
    if code != "auto" and code not in LANGUAGE_NAMES:
        code = "auto"
    language = None if code == "auto" else code
    person = callback.from_user
    await users.set_language(db, person.id, language)
    user_locale.remember(person.id, language)
    with i18n.use_locale(locale_for(i18n, language or person.language_code)):
        await screens.show(
            callback,
            _("🌐 Done. {menu}").format(menu=screens.main_menu_text()),
            keyboards.main_menu(),
        )
