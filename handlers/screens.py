"""How a screen reaches the person: a button press edits the message it belongs to (one live
message per task); a typed message gets a new one."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.catalog import Category, Platform, service_key
from bot.several_links import link_fields
from bot.smmlaba import Service
from handlers import keyboards, texts
from storage import favourites, orders
from storage.db import Database
from storage.orders import Order

logger = logging.getLogger(__name__)

Event = Message | CallbackQuery


async def show(
    event: Event, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> Message:
    if isinstance(event, CallbackQuery):
        message = event.message
        if isinstance(message, Message):
            try:
                edited = await message.edit_text(text, reply_markup=reply_markup)
            except TelegramBadRequest as exc:
                # A second tap on the same button asks for the screen that is already there.
                if "message is not modified" not in exc.message:
                    raise
                return message
            return edited if isinstance(edited, Message) else message
        return await send(event, text, reply_markup)
    return await event.answer(text, reply_markup=reply_markup)


async def send(
    event: Event, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> Message:
    """A new message in the person's chat, whatever the event."""
    if event.bot is None or event.from_user is None:
        raise RuntimeError("an update that did not come through the dispatcher has no chat")
    return await event.bot.send_message(event.from_user.id, text, reply_markup=reply_markup)


async def answer(callback: CallbackQuery) -> None:
    """Stop the tapped button's spinner, for a handler that does so itself (alongside its
    screen) rather than leave it to CallbackAnswerMiddleware, after it. A coroutine, for
    `asyncio.gather`: `callback.answer()` itself is an unhashable pydantic model, which
    gather refuses. A tap Telegram won't let us answer never fails the update
    (`bot.telegram_session.QuietCallbackAnswers`)."""
    await callback.answer()


async def retire(event: Event, message_id: int | None, text: str | None = None) -> None:
    """Take the buttons off a message that is no longer the live one; with `text`, that
    text replaces it (an answered prompt becomes the record of the answer). Cosmetic: a
    message Telegram no longer lets us edit stays as it is."""
    if message_id is None or event.bot is None or event.from_user is None:
        return
    chat_id = event.from_user.id
    try:
        if text is None:
            await event.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=None
            )
        else:
            await event.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id)
    except TelegramAPIError as exc:  # whatever went wrong, the step itself goes on
        logger.debug("could not retire message %s: %s", message_id, exc.message)


def main_menu_text() -> str:
    return _("What would you like to do?")


async def expired(
    callback: CallbackQuery, callback_answer: CallbackAnswer, why: str | None = None
) -> None:
    """A stale or unknown button: say so (`why`, else that the menu expired) and put a fresh
    main menu at the bottom."""
    callback_answer.text = why or _("This menu has expired")
    await send(callback, main_menu_text(), keyboards.main_menu())


async def owned_order(
    callback: CallbackQuery, db: Database, order_id: int, callback_answer: CallbackAnswer
) -> Order | None:
    """The person's own order `order_id`; else "Order not found" and a fresh menu (a button
    from someone else's chat finds nothing)."""
    order = await orders.get_for_user(db, callback.from_user.id, order_id)
    if order is None:
        callback_answer.text = _("Order not found")
        await send(callback, main_menu_text(), keyboards.main_menu())
    return order


async def order_card(event: Event, order: Order, currency: str) -> Message:
    """The order's card in the message tapped; in its live card, with the live card's
    buttons, so it stays the card the order's moves are shown in."""
    markup = keyboards.status_card(order) if is_live_card(event, order) else None
    return await show(
        event, texts.order_card(order, currency), markup or keyboards.order_card(order)
    )


def is_live_card(event: Event, order: Order) -> bool:
    """Whether the button tapped is under the order's live card."""
    return (
        isinstance(event, CallbackQuery)
        and event.message is not None
        and event.message.message_id == order.card_message_id
    )


def service_payload(service_id: str) -> str:
    """What follows `?start=` in a link that opens the service `service_id`."""
    return f"s_{service_key(service_id)}"


async def service_card(
    event: Event,
    service: Service,
    where: tuple[Platform, Category],
    currency: str,
    db: Database,
    *,
    found_by: str = "",
) -> Message:
    """A service's card: ⭐ to star it, "Same as last time" when the person ordered it here
    before, and a button that shares a link opening it (`/start s_<key>`)."""
    me = await event.bot.me() if event.bot is not None else None
    share = None
    if me is not None and me.username:
        opens = f"https://t.me/{me.username}?start={service_payload(service.id)}"
        share = "https://t.me/share/url?" + urlencode({"url": opens, "text": service.name})
    person = event.from_user.id if event.from_user is not None else 0
    marks = await favourites.card_marks(db, person, service.id)
    markup = keyboards.service_card(
        service,
        *where,
        found_by=found_by,
        share=share,
        favourite=marks.starred,
        last_order=marks.last_order,
        several=link_fields(service) is not None,
    )
    return await show(event, texts.service_card(service, currency), markup)
