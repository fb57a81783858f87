"""My orders: the list, one order's card, Refresh (asks the panel now) and Order again.

Every lookup takes the asking person's id: an order id from someone else's button finds
nothing.
"""

from __future__ import annotations

from dataclasses import replace

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.accounts import Accounts
from bot.balances import Balance
from bot.catalog import Catalog
from bot.config import Settings
from bot.formatting import money, number, progress_bar, quote, short
from bot.smmlaba import PanelError, PanelException
from bot.tracker import Tracker
from handlers import keyboards, screens
from handlers.callbacks import Menu, OrderCard, OrdersPage
from handlers.middlewares import ask_to_connect
from handlers.order import start_wizard
from handlers.screens import Event
from storage import orders
from storage.db import Database
from storage.orders import Order, OrderState

PER_PAGE = 5


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(orders_command, Command("orders"))
    router.callback_query.register(orders_button, Menu.filter(F.to == "orders"))
    router.callback_query.register(orders_page, OrdersPage.filter())
    router.callback_query.register(card, OrderCard.filter(F.action == "show"))
    router.callback_query.register(refresh, OrderCard.filter(F.action == "refresh"))
    router.callback_query.register(again, OrderCard.filter(F.action == "again"))
    router.callback_query.register(mute, OrderCard.filter(F.action.in_({"mute", "unmute"})))
    return router


def state_label(order: Order) -> str:
    return state_name(order.state)


def state_name(state: OrderState) -> str:
    labels = {
        OrderState.SUBMITTING: _("sending…"),
        OrderState.PLACED: _("placed"),
        OrderState.REJECTED: _("refused"),
        OrderState.UNCERTAIN: _("unknown — check the panel"),
        OrderState.NOT_PLACED: _("not placed"),
        OrderState.PENDING: _("waiting"),
        OrderState.IN_PROGRESS: _("in progress"),
        OrderState.COMPLETED: _("✅ completed"),
        OrderState.PARTIAL: _("partly delivered"),
        OrderState.CANCELLED: _("cancelled"),
        OrderState.REFUNDED: _("refunded"),
        OrderState.LOST: _("lost"),
    }
    return labels[state]


def progress(order: Order) -> str | None:
    if order.quantity is None or order.remain is None or order.quantity <= 0:
        return None
    return progress_bar(order.quantity - order.remain, order.quantity)


async def orders_command(message: Message, db: Database) -> None:
    await show_list(message, db, 0)


async def orders_button(callback: CallbackQuery, db: Database, state: FSMContext) -> None:
    await state.clear()
    await show_list(callback, db, 0)


async def orders_page(callback: CallbackQuery, callback_data: OrdersPage, db: Database) -> None:
    await show_list(callback, db, callback_data.page)


async def show_list(event: Event, db: Database, page: int) -> None:
    assert event.from_user is not None
    count = await orders.count_for_user(db, event.from_user.id)
    if count == 0:
        await screens.show(event, _("📦 You have no orders yet."), keyboards.main_menu())
        return
    total = keyboards.pages(count, PER_PAGE)
    page = min(max(page, 0), total - 1)
    items = await orders.list_for_user(
        db, event.from_user.id, limit=PER_PAGE, offset=page * PER_PAGE
    )
    lines = [_("📦 Your orders (page {page}/{total})").format(page=page + 1, total=total)]
    for order in items:
        parts = [
            quote(keyboards.order_label(order)),
            quote(keyboards.label(order.service_name, 40)),
        ]
        bar = progress(order) if not order.state.is_final else None
        if bar:
            parts.append(bar)
        parts.append(state_label(order))
        lines.append(" · ".join(parts))
    await screens.show(event, "\n".join(lines), keyboards.orders_list(items, page, total))


def card_text(order: Order, currency: str) -> str:
    lines = [
        _("📦 Order {label}").format(label=quote(keyboards.order_label(order))),
        f"<b>{quote(order.service_name)}</b>",
    ]
    for param, value in order.params.items():
        shown = short(value)
        icon = {"url": "🔗", "count": "🔢"}.get(param, "▫️")
        lines.append(f"{icon} {quote(shown)}")
    price = order.charged if order.charged is not None else order.total
    if price is not None:
        lines.append(f"💵 {money(price)} {quote(currency)}")
    status = state_label(order)
    if order.status_text:
        status += f" — «{quote(order.status_text)}»"
    lines.append(_("State: {status}").format(status=status))
    if order.quantity and order.remain is not None:
        delivered = order.quantity - order.remain
        lines.append(
            _("{bar} · {delivered} of {ordered}").format(
                bar=progress_bar(delivered, order.quantity),
                delivered=number(delivered),
                ordered=number(order.quantity),
            )
        )
    if order.state is OrderState.UNCERTAIN:
        lines.append(
            _(
                "The panel didn't answer when this order was sent: it may or may not exist. "
                "Look for it on the panel, then tell me below what you found."
            )
        )
    if order.state is OrderState.NOT_PLACED:
        lines.append(_("You found it is not on the panel: nothing was ordered or charged."))
    if order.state is OrderState.REJECTED and order.error:
        lines.append(_("The panel said: «{reason}»").format(reason=quote(short(order.error, 500))))
    return "\n".join(lines)


async def owned(
    callback: CallbackQuery, db: Database, order_id: int, callback_answer: CallbackAnswer
) -> Order | None:
    order = await orders.get_for_user(db, callback.from_user.id, order_id)
    if order is None:
        callback_answer.text = _("Order not found")
        await screens.send(callback, screens.main_menu_text(), keyboards.main_menu())
    return order


async def card(
    callback: CallbackQuery,
    callback_data: OrderCard,
    db: Database,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    order = await owned(callback, db, callback_data.order, callback_answer)
    if order is not None:
        await screens.show(
            callback, card_text(order, settings.panel_currency), keyboards.order_card(order)
        )


async def refresh(
    callback: CallbackQuery,
    callback_data: OrderCard,
    db: Database,
    accounts: Accounts,
    tracker: Tracker,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    order = await owned(callback, db, callback_data.order, callback_answer)
    if order is None:
        return
    # Checked on the account the order was placed on, whichever the person uses now.
    account = accounts.account_of(order.user_id, order.account)
    if order.panel_order_id is None or order.state.is_final or account is None:
        callback_answer.text = _("This order is not tracked any more.")
        return
    try:
        status = await account.panel.check(order.panel_order_id)
    except PanelError as exc:
        callback_answer.text = _("The panel says: {reason}").format(reason=exc.text[:150])
        return
    except PanelException:
        callback_answer.text = _("⚠️ SMMLaba isn't answering right now. Try again in a few minutes.")
        return
    if not await tracker.seen(order, status):
        callback_answer.text = _("No change since the last check.")
        return
    updated = await orders.get_for_user(db, callback.from_user.id, order.id)
    assert updated is not None
    await screens.show(
        callback, card_text(updated, settings.panel_currency), keyboards.order_card(updated)
    )


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
    order = await owned(callback, db, callback_data.order, callback_answer)
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
    await start_wizard(callback, state, service, order.params, balance=balance, settings=settings)


async def mute(
    callback: CallbackQuery,
    callback_data: OrderCard,
    db: Database,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    order = await owned(callback, db, callback_data.order, callback_answer)
    if order is None:
        return
    muted = callback_data.action == "mute"
    await orders.set_muted(db, callback.from_user.id, order.id, muted)
    order = replace(order, muted=muted)
    callback_answer.text = (
        _("🔕 No more messages about this order.")
        if muted
        else _("🔔 I'll tell you when it moves.")
    )
    await screens.show(
        callback, card_text(order, settings.panel_currency), keyboards.order_card(order)
    )
