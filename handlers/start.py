"""Greeting, main menu, help and /cancel: the ways in and the way out of everything."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.formatting import quote
from bot.smmlaba import Panel
from handlers import keyboards, screens
from handlers.callbacks import Menu, Noop
from handlers.screens import Event


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    router.message.register(show_help, Command("help"))
    router.message.register(cancel_command, Command("cancel"))
    router.callback_query.register(home, Menu.filter(F.to == "home"))
    router.callback_query.register(show_help, Menu.filter(F.to == "help"))
    router.callback_query.register(noop, Noop.filter())
    return router


def help_text() -> str:
    return "\n".join(
        [
            _("I place orders on your SMMLaba account and tell you when they're done."),
            _("To find a service, just send a few words, its id or a link."),
            "",
            _("/start — main menu"),
            _("/search <i>words</i> — find a service"),
            _("/orders — your orders"),
            _("/balance — your panel balance"),
            _("/test — check the connection to the panel"),
            _("/account — which panel account I use; /connect links your own"),
            _("/settings — which notifications you get"),
            _("/language — English or Russian"),
            _("/cancel — stop what you're doing"),
        ]
    )


async def start(
    message: Message, event_from_user: User, state: FSMContext, panel: Panel | None
) -> None:
    # The KnownUsers middleware has just refreshed the person's row: /start always does.
    person = event_from_user
    await state.clear()
    greeting = _(
        "👋 Hi, {name}! I place orders on your SMMLaba account and tell you when they're done."
    ).format(name=quote(person.first_name))
    if panel is None:
        greeting += "\n\n" + _("To begin, link your SMMLaba account: it takes a minute.")
    await message.answer(greeting, reply_markup=menu(panel))


def menu(panel: Panel | None) -> InlineKeyboardMarkup:
    """The main menu, with a way to link an account for someone who has none."""
    return keyboards.main_menu(connect=panel is None)


async def show_help(event: Event, panel: Panel | None) -> None:
    await screens.show(event, help_text(), menu(panel))


async def cancel_command(message: Message, state: FSMContext, panel: Panel | None) -> None:
    was = await state.get_state()
    await state.clear()
    text = _("Cancelled. Nothing was ordered.") if was else _("Nothing to cancel.")
    await message.answer(f"{text}\n{screens.main_menu_text()}", reply_markup=menu(panel))


async def home(callback: CallbackQuery, state: FSMContext, panel: Panel | None) -> None:
    await state.clear()
    await screens.show(callback, screens.main_menu_text(), menu(panel))


async def noop(_callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = ""
