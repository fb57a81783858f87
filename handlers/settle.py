"""Settling an order the panel never answered about: the person looks on the panel and says
what they found. "It's on the panel": they send its number, the bot `check`s it on the order's
account and shows what the panel knows; on "Yes, track it" the order is tracked as placed.
"It isn't there": the order is marked not placed, and Order again starts from its values.
"""

from __future__ import annotations

import re
import time
from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, User
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.accounts import Accounts
from bot.config import Settings
from bot.formatting import money, number, quote, short
from bot.notifier import Notifier
from bot.smmlaba import OrderStatus, PanelError, PanelException
from bot.tracker import Tracker
from handlers import keyboards, screens, texts
from handlers.callbacks import Settle
from handlers.filters import TypedText
from handlers.states import SettleOrder
from storage import orders
from storage.db import Database
from storage.orders import Order, OrderState

PANEL_ORDER_ID = re.compile(r"#?\s*([0-9A-Za-z_-]{1,32})")


def build_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(found, Settle.filter(F.action == "found"))
    router.message.register(panel_id_sent, StateFilter(SettleOrder.panel_id), TypedText())
    router.callback_query.register(track, Settle.filter(F.action == "track"))
    router.callback_query.register(absent, Settle.filter(F.action == "absent"))
    return router


async def uncertain_order(
    callback: CallbackQuery, db: Database, order_id: int, callback_answer: CallbackAnswer
) -> Order | None:
    """The person's order, if it still waits to be settled; else its card as it is now."""
    order = await screens.owned_order(callback, db, order_id, callback_answer)
    if order is None or order.state is OrderState.UNCERTAIN:
        return order
    callback_answer.text = _("This order is settled already.")
    return None


async def found(
    callback: CallbackQuery,
    callback_data: Settle,
    db: Database,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    order = await uncertain_order(callback, db, callback_data.order, callback_answer)
    if order is None:
        return
    await state.set_state(SettleOrder.panel_id)
    await state.set_data({"order": order.id})
    await screens.show(
        callback,
        _(
            "Send the order's number as the panel shows it (Orders, on smmlaba.com). I'll "
            "look it up and show you what the panel knows before anything changes."
        ),
        keyboards.settle_prompt(order.id),
    )


async def panel_id_sent(
    message: Message,
    event_from_user: User,
    db: Database,
    accounts: Accounts,
    state: FSMContext,
    settings: Settings,
    tracker: Tracker,
) -> None:
    order_id = (await state.get_data()).get("order")
    order = None
    if isinstance(order_id, int):
        order = await orders.get_for_user(db, event_from_user.id, order_id)
    if order is None or order.state is not OrderState.UNCERTAIN:
        await state.clear()
        await message.answer(_("This order is settled already."), reply_markup=keyboards.to_menu())
        return
    matched = PANEL_ORDER_ID.fullmatch((message.text or "").strip())
    if matched is None:
        await message.answer(
            _("That doesn't look like an order number. Send just the number, like 1234567."),
            reply_markup=keyboards.settle_prompt(order.id),
        )
        return
    panel_id = matched.group(1)
    taken = await orders.find_by_panel_id(db, order.account, panel_id)
    if taken is not None:
        await message.answer(
            _("Order #{id} is already in My orders.").format(id=quote(panel_id)),
            reply_markup=keyboards.settle_prompt(order.id),
        )
        return
    # Looked up on the account the order was sent on, whichever the person uses now.
    account = accounts.account_of(order.user_id, order.account)
    if account is None:
        await state.clear()
        await message.answer(
            _("The panel account this order was sent on is no longer linked."),
            reply_markup=keyboards.to_menu(),
        )
        return
    try:
        status = await account.panel.check(panel_id)
    except PanelError as exc:
        await message.answer(
            texts.unknown_order(panel_id, exc.text),
            reply_markup=keyboards.settle_prompt(order.id),
        )
        return
    except PanelException as exc:
        await message.answer(
            texts.panel_failure(exc), reply_markup=keyboards.settle_prompt(order.id)
        )
        return
    await state.update_data(panel_id=status.order_id, price=_price(status))
    await message.answer(
        found_text(order, status, tracker.reading(status), settings.panel_currency),
        reply_markup=keyboards.settle_found(order.id),
    )


def _price(status: OrderStatus) -> str | None:
    return None if status.price is None else str(status.price)


def found_text(
    order: Order, status: OrderStatus, reading: tuple[OrderState, str], currency: str
) -> str:
    lines = [_("The panel knows order #{id}:").format(id=quote(status.order_id))]
    if status.name:
        lines.append(f"<b>{quote(short(status.name, 200))}</b>")
    if status.url:
        lines.append(f"🔗 {quote(short(status.url, 200))}")
    if status.count is not None:
        lines.append(f"🔢 {number(status.count)}")
    if status.price is not None:
        lines.append(f"💵 {quote(money(status.price, currency))}")
    state, words = reading
    shown = texts.state_name(state) + (f" — «{quote(words)}»" if words else "")
    lines.append(_("State: {status}").format(status=shown))
    if status.service and status.service != order.service_id:
        lines.append(_("⚠️ This is another service than the order you sent here."))
    lines.append(_("Is this your order of {service}?").format(service=quote(order.service_name)))
    return "\n".join(lines)


async def track(
    callback: CallbackQuery,
    callback_data: Settle,
    db: Database,
    state: FSMContext,
    notifier: Notifier,
    callback_answer: CallbackAnswer,
) -> None:
    order = await uncertain_order(callback, db, callback_data.order, callback_answer)
    if order is None:
        return
    data = await state.get_data()
    panel_id = data.get("panel_id")
    if data.get("order") != order.id or not isinstance(panel_id, str):
        await screens.expired(callback, callback_answer)
        return
    price = data.get("price")
    settled = await orders.settle_placed(
        db,
        callback.from_user.id,
        order.id,
        panel_order_id=panel_id,
        charged=None if price is None else Decimal(price),
        next_check_at=time.time(),
    )
    await state.clear()
    if settled is None:
        callback_answer.text = _("This order is settled already.")
        return
    # Told like any order the panel took: the same message, with its card a tap away.
    callback_answer.text = _("✅ Tracking it now")
    if settled.message is not None:
        await notifier.deliver(settled.message, locale=get_i18n().current_locale)
    await screens.retire(callback, callback.message.message_id if callback.message else None)


async def absent(
    callback: CallbackQuery,
    callback_data: Settle,
    db: Database,
    state: FSMContext,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    order = await uncertain_order(callback, db, callback_data.order, callback_answer)
    if order is None:
        return
    settled = await orders.settle_not_placed(db, callback.from_user.id, order.id)
    await state.clear()
    if settled is None:
        callback_answer.text = _("This order is settled already.")
        return
    await screens.order_card(callback, settled, settings.panel_currency)
