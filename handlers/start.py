"""Greeting, main menu, help and /cancel: the ways in and the way out of everything."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.formatting import quote
from handlers import keyboards, screens
from handlers.callbacks import Menu, Noop
from storage import users
from storage.db import Database


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    router.message.register(cancel_command, Command("cancel"))
    router.callback_query.register(home, Menu.filter(F.to == "home"))
    router.callback_query.register(help_button, Menu.filter(F.to == "help"))
    router.callback_query.register(noop, Noop.filter())
    return router


def help_text() -> str:
    return "\n".join(
        [
            _("I place orders on your SMMLaba account and tell you when they're done."),
            "",
            _("/start — main menu"),
            _("/search <i>words</i> — find a service"),
            _("/orders — your orders"),
            _("/balance — your panel balance"),
            _("/test — check the connection to the panel"),
            _("/settings — which notifications you get"),
            _("/language — English or Russian"),
            _("/cancel — stop what you're doing"),
        ]
    )


async def start(message: Message, state: FSMContext, db: Database) -> None:
    assert message.from_user is not None
    person = message.from_user
    await users.touch(
        db,
        person.id,
        chat_id=message.chat.id,
        first_name=person.first_name,
        telegram_language=person.language_code,
    )
    await state.clear()
    greeting = _(
        "👋 Hi, {name}! I place orders on your SMMLaba account and tell you when they're done."
    )
    await message.answer(
        greeting.format(name=quote(person.first_name)), reply_markup=keyboards.main_menu()
    )


async def help_command(message: Message) -> None:
    await message.answer(help_text(), reply_markup=keyboards.main_menu())


async def help_button(callback: CallbackQuery) -> None:
    await screens.show(callback, help_text(), keyboards.main_menu())


async def cancel_command(message: Message, state: FSMContext) -> None:
    was = await state.get_state()
    await state.clear()
    text = _("Cancelled. Nothing was ordered.") if was else _("Nothing to cancel.")
    await message.answer(f"{text}\n{screens.main_menu_text()}", reply_markup=keyboards.main_menu())


async def home(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await screens.show(callback, screens.main_menu_text(), keyboards.main_menu())


async def noop(_callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = ""
