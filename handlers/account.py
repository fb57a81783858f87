"""The panel account: balance and a connection check."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.formatting import balance as held
from bot.formatting import quote
from bot.smmlaba import Panel, PanelException
from handlers import keyboards, screens, texts
from handlers.callbacks import Menu
from handlers.middlewares import require_panel
from handlers.screens import Event


def build_router() -> Router:
    router = Router(name=__name__)
    require_panel(router)
    router.message.register(show_balance, Command("balance"))
    router.callback_query.register(show_balance, Menu.filter(F.to == "balance"))
    router.message.register(test_command, Command("test"))
    return router


async def show_balance(event: Event, panel: Panel, settings: Settings) -> None:
    try:
        balance = await panel.balance()
    except PanelException as exc:
        text = texts.panel_failure(exc)
    else:
        text = _("💰 Balance: {amount}").format(
            amount=quote(held(balance, settings.panel_currency))
        )
    await screens.show(event, text, keyboards.main_menu())


async def test_command(message: Message, panel: Panel) -> None:
    try:
        await panel.test()
    except PanelException as exc:
        text = texts.panel_failure(exc)
    else:
        text = _("✅ Connected to SMMLaba: the panel accepts this account.")
    await message.answer(text, reply_markup=keyboards.main_menu())
