"""The panel account: balance and a connection check."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.formatting import money, quote, short
from bot.smmlaba import Panel, PanelError, PanelException
from handlers import keyboards, screens
from handlers.callbacks import Menu
from handlers.middlewares import require_panel
from handlers.screens import Event


def build_router() -> Router:
    router = Router(name=__name__)
    require_panel(router)
    router.message.register(balance_command, Command("balance"))
    router.callback_query.register(balance_button, Menu.filter(F.to == "balance"))
    router.message.register(test_command, Command("test"))
    return router


def unavailable() -> str:
    return _(
        "⚠️ SMMLaba isn't answering right now. Your orders are safe; I'll keep checking them. "
        "Try again in a few minutes."
    )


async def balance_command(message: Message, panel: Panel, settings: Settings) -> None:
    await show_balance(message, panel, settings)


async def balance_button(callback: CallbackQuery, panel: Panel, settings: Settings) -> None:
    await show_balance(callback, panel, settings)


async def show_balance(event: Event, panel: Panel, settings: Settings) -> None:
    try:
        balance = await panel.balance()
    except PanelError as exc:
        text = _("❌ The panel refused: «{reason}»").format(reason=quote(short(exc.text, 500)))
    except PanelException:
        text = unavailable()
    else:
        text = _("💰 Balance: {amount} {cur}").format(
            amount=money(balance), cur=quote(settings.panel_currency)
        )
    await screens.show(event, text, keyboards.main_menu())


async def test_command(message: Message, panel: Panel) -> None:
    try:
        await panel.test()
    except PanelError as exc:
        text = _("❌ The panel refused the connection: «{reason}»").format(
            reason=quote(short(exc.text, 500))
        )
    except PanelException:
        text = unavailable()
    else:
        text = _("✅ Connected to SMMLaba: the panel accepts this account.")
    await message.answer(text, reply_markup=keyboards.main_menu())
