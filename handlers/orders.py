"""My orders: the list, one order's card, Refresh (asks the panel now) and Order again.

Every lookup takes the asking person's id: an order id from someone else's button finds
nothing.
"""

from __future__ import annotations

from dataclasses import replace

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, User
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.accounts import Accounts
from bot.balances import Balance
from bot.catalog import Catalog
from bot.config import Settings
from bot.formatting import day, money, quote, short
from bot.smmlaba import PanelException
from bot.tracker import Tracker
from handlers import keyboards, screens, texts, wizard
from handlers.callbacks import Menu, OrderCard, OrdersPage
from handlers.middlewares import ask_to_connect
from handlers.screens import Event
from storage import orders
from storage.db import Database

PER_PAGE = 5


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(show_orders, Command("orders"))
    router.callback_query.register(show_orders, Menu.filter(F.to == "orders"))
    router.callback_query.register(orders_page, OrdersPage.filter())
    router.callback_query.register(card, OrderCard.filter(F.action == "show"))
    router.callback_query.register(refresh, OrderCard.filter(F.action == "refresh"))
    router.callback_query.register(again, OrderCard.filter(F.action == "again"))
    router.callback_query.register(mute, OrderCard.filter(F.action.in_({"mute", "unmute"})))
    return router


async def show_orders(
    event: Event, event_from_user: User, db: Database, state: FSMContext, settings: Settings
) -> None:
    if isinstance(event, CallbackQuery):
        # The menu's button leaves whatever was under way; the command, like any command in
        # the middle of a form, keeps it.
        await state.clear()
    await show_list(event, event_from_user, db, settings, 0)


async def orders_page(
    callback: CallbackQuery, callback_data: OrdersPage, db: Database, settings: Settings
) -> None:
    await show_list(callback, callback.from_user, db, settings, callback_data.page)


async def show_list(
    event: Event, person: User, db: Database, settings: Settings, page: int
) -> None:
    count = await orders.count_for_user(db, person.id)
    if count == 0:
        await screens.show(event, _("📦 You have no orders yet."), keyboards.no_orders())
        return
    total = keyboards.pages(count, PER_PAGE)
    page = min(max(page, 0), total - 1)
    items = await orders.list_for_user(db, person.id, limit=PER_PAGE, offset=page * PER_PAGE)
    lines = [_("📦 Your orders (page {page}/{total})").format(page=page + 1, total=total)]
    for order in items:
        parts = [
            quote(keyboards.order_label(order)) + (" 🌐" if order.placed_on_website else ""),
            day(order.created_at),
            quote(keyboards.label(order.service_name, 40)),
        ]
        price = order.charged if order.charged is not None else order.total
        if price is not None:
            parts.append(quote(money(price, settings.panel_currency)))
        bar = texts.progress(order) if not order.state.is_final else None
        if bar:
            parts.append(bar)
        parts.append(texts.state_name(order.state))
        lines.append(" · ".join(parts))
    await screens.show(event, "\n".join(lines), keyboards.orders_list(items, page, total))


async def card(
    callback: CallbackQuery,
    callback_data: OrderCard,
    db: Database,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    order = await screens.owned_order(callback, db, callback_data.order, callback_answer)
    if order is not None:
        await screens.order_card(callback, order, settings.panel_currency)


async def refresh(
    callback: CallbackQuery,
    callback_data: OrderCard,
    db: Database,
    accounts: Accounts,
    tracker: Tracker,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    order = await screens.owned_order(callback, db, callback_data.order, callback_answer)
    if order is None:
        return
    # Checked on the account the order was placed on, whichever the person uses now.
    account = accounts.account_of(order.user_id, order.account)
    if order.panel_order_id is None or order.state.is_final or account is None:
        callback_answer.text = _("This order is not tracked any more.")
        await screens.order_card(callback, order, settings.panel_currency)  # as it ended
        return
    try:
        status = await account.panel.check(order.panel_order_id)
    except PanelException as exc:
        callback_answer.text = short(texts.panel_failure(exc, html=False), 200)  # a toast
        return
    shown_in = callback.message.message_id if callback.message else None
    if not await tracker.record_refresh(order, status, shown_in=shown_in):
        callback_answer.text = _("No change since the last check.")
        return
    updated = await orders.get_for_user(db, callback.from_user.id, order.id) or order
    await screens.order_card(callback, updated, settings.panel_currency)


async def again(
    callback: CallbackQuery,
    callback_data: OrderCard,
    db: Database,
    catalog: Catalog | None,
    balance: Balance | None,
    settings: Settings,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    order = await screens.owned_order(callback, db, callback_data.order, callback_answer)
    if order is None:
        return
    if catalog is None or balance is None:
        await ask_to_connect(callback)
        return
    snapshot = await catalog.snapshot()
    service = snapshot.by_id(order.service_id) if snapshot else None
    if service is None:
        callback_answer.text = _("This service is no longer offered.")
        return
    await wizard.start(
        callback,
        state,
        service,
        order.params,
        balance=balance,
        settings=settings,
        new_message=screens.is_live_card(callback, order),  # the card stays the card
    )


async def mute(
    callback: CallbackQuery,
    callback_data: OrderCard,
    db: Database,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    order = await screens.owned_order(callback, db, callback_data.order, callback_answer)
    if order is None:
        return
    muted = callback_data.action == "mute"
    await orders.set_muted(db, callback.from_user.id, order.id, muted)
    order = replace(order, muted=muted)
    callback_answer.text = (
        _("🔕 No more messages about this order.") if muted else _("🔔 I'll tell you when it ends.")
    )
    await screens.order_card(callback, order, settings.panel_currency)
