"""Greeting, main menu, help and /cancel: the ways in and the way out of everything.

`/start s_<key>` (a link `t.me/<bot>?start=s_<key>` someone shared) opens that service's
card. The main menu's header shows the balance when one is at hand (`Balance.known`): drawing
a menu never waits on the panel.
"""

from __future__ import annotations

import logging
import re

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, User
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.balances import Balance
from bot.catalog import Catalog
from bot.config import Settings
from bot.formatting import balance as held
from bot.formatting import quote
from bot.smmlaba import Panel
from handlers import keyboards, screens
from handlers.callbacks import Menu, Noop
from handlers.screens import Event
from storage import orders
from storage.db import Database

# A start parameter may hold A-Z, a-z, 0-9, _ and - (64 at most); a service's id may hold
# anything, so the link carries its catalog key (16 hex digits), as buttons do.
SERVICE_LINK = re.compile(r"s_([0-9a-f]{16})")  # see screens.service_payload
RECENT_SERVICES = 3  # on the main menu

logger = logging.getLogger(__name__)


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
            _("/track <i>number</i> — follow an order you placed on the website"),
            _("/spent — what your orders cost this month, and a chart of the year"),
            _("/balance — your panel balance"),
            _("/test — check the connection to the panel"),
            _("/account — which panel account I use; /connect links your own"),
            _("/settings — which notifications you get"),
            _("/language — English or Russian"),
            _("/cancel — stop what you're doing"),
        ]
    )


async def start(
    message: Message,
    event_from_user: User,
    state: FSMContext,
    panel: Panel | None,
    catalog: Catalog | None,
    balance: Balance | None,
    settings: Settings,
    command: CommandObject,
    db: Database,
) -> None:
    # The KnownUsers middleware has just refreshed the person's row: /start always does.
    person = event_from_user
    await state.clear()
    if command.args and catalog is not None:
        await open_shared(message, command.args, catalog, settings, panel, db)
        return
    greeting = _(
        "👋 Hi, {name}! I place orders on your SMMLaba account and tell you when they're done."
    ).format(name=quote(person.first_name))
    if panel is None:
        greeting += "\n\n" + _("To begin, link your SMMLaba account: it takes a minute.")
    balance_now = balance_line(balance, settings)
    if balance_now:
        greeting += "\n\n" + balance_now
    await message.answer(greeting, reply_markup=await home_menu(panel, db, person.id, settings))
    await label_catalog_button(message, settings)


async def label_catalog_button(event: Event, settings: Settings) -> None:
    """The Mini App's button beside the input field, in the person's language: the one every
    chat has is set at start-up, in English; this chat gets its own, as /start and /language
    speak."""
    message = event if isinstance(event, Message) else event.message
    chat = message.chat if message is not None else None
    if settings.webapp_url is None or event.bot is None or chat is None or chat.type != "private":
        return
    try:
        await event.bot.set_chat_menu_button(
            chat_id=chat.id, menu_button=keyboards.catalog_menu_button(str(settings.webapp_url))
        )
    except TelegramAPIError as exc:  # the default button stays: not worth an error here
        logger.info("could not label chat %s's catalog button: %s", chat.id, exc.message)


async def open_shared(
    message: Message,
    payload: str,
    catalog: Catalog,
    settings: Settings,
    panel: Panel | None,
    db: Database,
) -> None:
    """A shared link's service card; a link that names none (stale, or made up) says so over
    the main menu."""
    link = SERVICE_LINK.fullmatch(payload)
    snapshot = await catalog.snapshot() if link else None
    service = snapshot.service(link.group(1)) if (snapshot and link) else None
    found = snapshot.location(service) if (snapshot and service) else None
    if link and not snapshot:
        text = _(
            "⚠️ The catalog isn't available right now: SMMLaba isn't answering. "
            "Try again in a few minutes."
        )
        await message.answer(text, reply_markup=menu(panel))
        return
    if service is None or found is None:
        text = _("🔗 That link leads to no service I offer now. Search or browse the catalog:")
        await message.answer(text, reply_markup=menu(panel))
        return
    await screens.service_card(message, service, found, settings.panel_currency, db)


def balance_line(balance: Balance | None, settings: Settings) -> str:
    """The balance, when one is at hand; "" when it would take a panel call."""
    amount = balance.known() if balance is not None else None
    if amount is None:
        return ""
    return _("💰 Balance: {amount}").format(amount=quote(held(amount, settings.panel_currency)))


def menu_text(balance: Balance | None, settings: Settings, lead: str = "") -> str:
    """The main menu's header: `lead` (what just happened), the balance if known, the
    question."""
    lines = [line for line in (lead, balance_line(balance, settings)) if line]
    return "\n".join([*lines, screens.main_menu_text()])


def menu(panel: Panel | None) -> InlineKeyboardMarkup:
    """The main menu, with a way to link an account for someone who has none."""
    return keyboards.main_menu(connect=panel is None)


async def home_menu(
    panel: Panel | None, db: Database, user_id: int, settings: Settings
) -> InlineKeyboardMarkup:
    """The main menu as /start and 🏠 show it: the Mini App when there is one, then the
    services ordered last."""
    if panel is None:
        return menu(panel)
    recent = await orders.recent_services(db, user_id, RECENT_SERVICES)
    app = None if settings.webapp_url is None else str(settings.webapp_url)
    return keyboards.main_menu(recent=recent, catalog_app=app)


async def show_help(event: Event, panel: Panel | None) -> None:
    await screens.show(event, help_text(), menu(panel))


async def cancel_command(
    message: Message,
    state: FSMContext,
    panel: Panel | None,
    balance: Balance | None,
    settings: Settings,
) -> None:
    was = await state.get_state()
    await state.clear()
    text = _("Cancelled. Nothing was ordered.") if was else _("Nothing to cancel.")
    await message.answer(menu_text(balance, settings, text), reply_markup=menu(panel))


async def home(
    callback: CallbackQuery,
    state: FSMContext,
    panel: Panel | None,
    balance: Balance | None,
    settings: Settings,
    db: Database,
) -> None:
    await state.clear()
    markup = await home_menu(panel, db, callback.from_user.id, settings)
    await screens.show(callback, menu_text(balance, settings), markup)


async def noop(_callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    callback_answer.text = ""
