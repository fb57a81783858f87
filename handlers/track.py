"""Tracking an order placed on the panel's website: `/track 1234567`, or "Track an order" in
My orders and then its number. The bot `check`s it on the person's account and, when the panel
knows it, adds it to My orders (marked as placed on the website) and tracks it like its own.
"""

from __future__ import annotations

import time

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, User
from aiogram.utils.i18n import gettext as _

from bot.accounts import Account
from bot.config import Settings
from bot.formatting import quote
from bot.smmlaba import OrderStatus, PanelError, PanelException
from bot.tracker import Tracker
from handlers import keyboards, screens, texts
from handlers.callbacks import Menu
from handlers.filters import TypedText
from handlers.middlewares import require_panel
from handlers.screens import Event
from handlers.settle import PANEL_ORDER_ID
from handlers.states import TrackOrder
from storage import orders
from storage.db import Database
from storage.orders import CheckResult, Order


def build_router() -> Router:
    router = Router(name=__name__)
    require_panel(router)
    router.message.register(track, Command("track"))
    router.callback_query.register(track, Menu.filter(F.to == "track"))
    router.message.register(number_sent, StateFilter(TrackOrder.panel_id), TypedText())
    return router


async def track(
    event: Event,
    event_from_user: User,
    state: FSMContext,
    db: Database,
    account: Account,
    tracker: Tracker,
    settings: Settings,
    command: CommandObject | None = None,
) -> None:
    """`/track <number>` looks it up; `/track` alone, or the button, asks for the number."""
    if isinstance(event, Message) and command is not None and command.args:
        if await state.get_state() == TrackOrder.panel_id:
            await state.clear()  # answered by the command; any other form stays as it was
        await look_up(event, event_from_user, command.args, account, db, tracker, settings)
        return
    await state.set_state(TrackOrder.panel_id)
    await state.set_data({})
    await screens.show(
        event,
        _(
            "Send the number of an order you placed on the panel's website (Orders, on "
            "smmlaba.com). I'll add it to My orders and tell you when it moves or ends."
        ),
        keyboards.track_prompt(),
    )


async def number_sent(
    message: Message,
    event_from_user: User,
    state: FSMContext,
    db: Database,
    account: Account,
    tracker: Tracker,
    settings: Settings,
) -> None:
    if await look_up(message, event_from_user, message.text or "", account, db, tracker, settings):
        await state.clear()


async def look_up(
    message: Message,
    person: User,
    typed: str,
    account: Account,
    db: Database,
    tracker: Tracker,
    settings: Settings,
) -> bool:
    """Add the order `typed` names, or say why not; False if the person should try another
    number."""
    matched = PANEL_ORDER_ID.fullmatch(typed.strip())
    if matched is None:
        await message.answer(
            _("That doesn't look like an order number. Send just the number, like 1234567."),
            reply_markup=keyboards.track_prompt(),
        )
        return False
    panel_id = matched.group(1)
    # Decided before the panel is asked, whatever it would answer: an order the bot tracks
    # for someone else, or on another account, is not this person's to follow.
    known = await orders.with_panel_id(db, panel_id)
    if known:
        return await _known(message, person, known, account, settings)
    try:
        status = await account.panel.check(panel_id)
    except PanelError as exc:
        await message.answer(
            texts.unknown_order(panel_id, exc.text),
            reply_markup=keyboards.track_prompt(),
        )
        return False
    except PanelException as exc:
        await message.answer(texts.panel_failure(exc), reply_markup=keyboards.track_prompt())
        return False
    if status.order_id != panel_id:  # the panel's own spelling of it, decided the same way
        known = await orders.with_panel_id(db, status.order_id)
        if known:
            return await _known(message, person, known, account, settings)
    state, words = tracker.reading(status)
    order, added = await orders.add_placed_on_website(
        db,
        user_id=person.id,
        chat_id=message.chat.id,
        account=account.name,
        panel_order_id=status.order_id,
        service_id=status.service,
        service_name=await _service_name(status, account),
        params={"url": status.url} if status.url else {},
        quantity=status.count,
        charged=status.price,
        check=CheckResult(
            state=state,
            status_code=status.status,
            status_text=words,
            remain=status.remain,
            # Due at the tracker's next turn, then followed like the bot's own.
            next_check_at=None if state.is_final else time.time(),
        ),
    )
    if not added:  # asked twice at once: the first one added it
        return await _known(message, person, [order], account, settings)
    card = await message.answer(
        texts.order_card(order, settings.panel_currency), reply_markup=keyboards.status_card(order)
    )
    await orders.set_card(db, order.id, card.message_id)  # its moves are shown here
    return True


async def _known(
    message: Message, person: User, known: list[Order], account: Account, settings: Settings
) -> bool:
    """The bot has this panel id already: its card if it is the person's on this account,
    else a refusal (False)."""
    mine = [o for o in known if o.account == account.name and o.user_id == person.id]
    if not mine:
        label = quote(known[0].panel_order_id or "")
        if any(o.account == account.name for o in known):  # the team's: someone else's
            refusal = _("Order #{id} is not one of yours, so I can't track it here.")
        else:  # said without telling whose it is
            refusal = _("Order #{id} isn't on your panel account.")
        await message.answer(refusal.format(id=label), reply_markup=keyboards.track_prompt())
        return False
    await message.answer(
        texts.order_card(mine[0], settings.panel_currency),
        reply_markup=keyboards.order_card(mine[0]),
    )
    return True


async def _service_name(status: OrderStatus, account: Account) -> str:
    """The service as the catalog names it, else as the panel's answer did."""
    snapshot = await account.catalog.snapshot() if status.service else None
    service = snapshot.by_id(status.service) if snapshot is not None else None
    if service is not None:
        return service.name
    return status.name or _("Service {id}").format(id=status.service or "?")
