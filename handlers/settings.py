"""/settings and /language: what the person hears about (order moves; a low balance), and in
which language."""

from __future__ import annotations

import contextlib
import re
from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, User
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.accounts import Account
from bot.config import Settings
from bot.formatting import money, quote
from bot.i18n import LANGUAGE_NAMES, UserLocale, locale_for
from bot.smmlaba import PanelException
from handlers import keyboards, screens
from handlers.callbacks import LanguageChoice, Menu, NotifySetting
from handlers.filters import TypedText
from handlers.screens import Event
from handlers.start import label_catalog_button
from handlers.states import LowBalance
from storage import balance_alerts, users
from storage.db import Database
from storage.users import NotifyMode

# Under a billion: no panel balance gets near, and a typo of many digits is not taken.
LARGEST_WARNING = Decimal(10) ** 9
_AMOUNT = re.compile(r"[0-9]+(?:[.,][0-9]{1,2})?")


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(settings_screen, Command("settings"))
    router.callback_query.register(settings_screen, Menu.filter(F.to == "settings"))
    router.callback_query.register(choose, NotifySetting.filter())
    router.callback_query.register(ask_low_balance, Menu.filter(F.to == "low_balance"))
    router.message.register(low_balance_sent, StateFilter(LowBalance.amount), TypedText())
    router.message.register(language_command, Command("language"))
    router.callback_query.register(language_button, Menu.filter(F.to == "language"))
    router.callback_query.register(choose_language, LanguageChoice.filter())
    return router


async def settings_screen(
    event: Event,
    event_from_user: User,
    db: Database,
    state: FSMContext,
    account: Account | None,
    settings: Settings,
) -> None:
    if await state.get_state() == LowBalance.amount:
        await state.clear()  # left the question for the screen it came from
    await show(event, event_from_user, db, account, settings)


async def choose(
    callback: CallbackQuery,
    callback_data: NotifySetting,
    db: Database,
    account: Account | None,
    settings: Settings,
) -> None:
    mode = NotifyMode.FINAL if callback_data.mode == "final" else NotifyMode.ALL
    user = await users.get(db, callback.from_user.id)
    if user is not None and user.notify is mode:
        return  # chosen already: the screen shows it
    await users.set_notify(db, callback.from_user.id, mode)
    await show(callback, callback.from_user, db, account, settings)


def watches_balance(person: User, account: Account | None, settings: Settings) -> bool:
    """Whether the person may set the account's low-balance warning: their own account's;
    the operator's, for its admins (who are the ones told)."""
    return account is not None and (account.personal or person.id in settings.admin_ids)


async def show(
    event: Event,
    person: User,
    db: Database,
    account: Account | None,
    settings: Settings,
    lead: str = "",
) -> None:
    user = await users.get(db, person.id)
    mode = user.notify if user is not None else NotifyMode.FINAL  # KnownUsers made the row
    lines = [lead, ""] if lead else []
    lines += [
        _("🔔 <b>Notifications</b>"),
        _("An order's card shows how it moves, without a sound. A message of its own:"),
        _("Start and end: when it starts, and when it is done."),
        _("Only when done: completion, partial delivery, cancellation, refund."),
        _("To silence one order, use 🔕 on its card."),
    ]
    watching = watches_balance(person, account, settings)
    if watching and account is not None:
        alert = await balance_alerts.get(db, account.name)
        lines += ["", _("💰 <b>Low balance</b>")]
        if alert is None:
            lines.append(_("Off: I can tell you when the balance drops below an amount."))
        else:
            lines.append(
                _("I'll tell you when the balance drops below {amount}.").format(
                    amount=quote(money(alert.below, settings.panel_currency))
                )
            )
        if not account.personal:
            lines.append(_("It is the balance the team orders on; the admins are told."))
    await screens.show(
        event, "\n".join(lines), keyboards.notify_settings(mode, low_balance=watching)
    )


async def ask_low_balance(
    callback: CallbackQuery,
    state: FSMContext,
    account: Account | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    if not watches_balance(callback.from_user, account, settings):
        await screens.expired(callback, callback_answer)
        return
    await state.set_state(LowBalance.amount)
    await state.set_data({})
    await screens.show(
        callback,
        _(
            "Send an amount: I'll message you when the balance drops below it, once, and "
            "again only after it has been topped up above it. Send 0 to turn this off."
        ),
        keyboards.low_balance_prompt(),
    )


async def low_balance_sent(
    message: Message,
    event_from_user: User,
    state: FSMContext,
    db: Database,
    account: Account | None,
    settings: Settings,
) -> None:
    if account is None or not watches_balance(event_from_user, account, settings):
        await state.clear()
        await message.answer(_("This menu has expired"), reply_markup=keyboards.main_menu())
        return
    typed = "".join((message.text or "").split())  # "1 000" is a thousand
    if _AMOUNT.fullmatch(typed) is None or Decimal(typed.replace(",", ".")) >= LARGEST_WARNING:
        await message.answer(
            _("That isn't an amount. Send a number like 100 or 99.50 (0 turns it off)."),
            reply_markup=keyboards.low_balance_prompt(),
        )
        return
    below = Decimal(typed.replace(",", "."))
    await state.clear()
    if not below:
        await balance_alerts.set_below(db, account.name, None, event_from_user.id)
        lead = _("✅ Low-balance warning off.")
    else:
        await balance_alerts.set_below(db, account.name, below, event_from_user.id)
        lead = _("✅ I'll tell you when the balance drops below {amount}.").format(
            amount=quote(money(below, settings.panel_currency))
        )
        # Read now: a balance under it already is told at once (by the watch, like any).
        with contextlib.suppress(PanelException):
            await account.panel.balance()
    await show(message, event_from_user, db, account, settings, lead)


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
    settings: Settings,
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
        await label_catalog_button(callback, settings)
