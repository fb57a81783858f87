"""The last word: stale buttons, text nobody expected, and exceptions nobody caught."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.ordering import Placements
from handlers import keyboards, screens
from handlers.callbacks import Confirm
from storage import orders, outbox
from storage.db import Database

logger = logging.getLogger(__name__)


def build_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(stale_button)
    router.message.register(unexpected_message)
    return router


async def stale_button(callback: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """A button no handler knows in the current state: old, or forged."""
    await screens.expired(callback, callback_answer)


async def unexpected_message(message: Message) -> None:
    await message.answer(
        _("I didn't get that. Use the menu, or /help for the commands."),
        reply_markup=keyboards.main_menu(),
    )


async def unexpected_error(
    event: ErrorEvent, bot: Bot, db: Database, placements: Placements
) -> bool:
    """Registered on the dispatcher, so it sees a failure in any router: log the cause, tell
    the person in one line, never show a traceback. A Confirm that got as far as an order is
    answered with what became of that order, never with "try again"."""
    update = event.update
    logger.error(
        "update %s failed: %s", update.update_id, event.exception, exc_info=event.exception
    )
    callback = update.callback_query
    if callback is not None and await told_about_order(callback, db, placements):
        return True
    chat_id = None
    if update.message is not None:
        chat_id = update.message.chat.id
    elif update.callback_query is not None:
        chat_id = update.callback_query.from_user.id
    if chat_id is not None:
        try:
            await bot.send_message(
                chat_id, _("Something went wrong on my side — please try again.")
            )
        except Exception:  # the chat may be gone too; the cause is logged above
            logger.exception("could not tell chat %s about the failure", chat_id)
    return True


async def told_about_order(callback: CallbackQuery, db: Database, placements: Placements) -> bool:
    """If the failed tap was a Confirm that created an order, make sure its person hears what
    became of it: the message the panel's answer queued goes out now (or this process is still
    at it, or the sweep will tell an order nobody answered). An order row is written before
    `add` is sent: no row, no order."""
    data = callback.data or ""
    if not data.startswith(f"{Confirm.__prefix__}{Confirm.__separator__}"):
        return False
    try:
        token = Confirm.unpack(data).token
        order = await orders.get_by_token(db, callback.from_user.id, token)
        if order is None:
            return False
        message = None if placements.busy_with(token) else await orders.unsent_answer(db, order)
        if message is not None:
            await outbox.release(db, message.id)
    except Exception:
        logger.exception("could not look up the order of a failed Confirm")
        # Whether an order exists is unknown here: not a word that could make it two.
        await callback.bot.send_message(  # type: ignore[union-attr]
            callback.from_user.id,
            _(
                "Something went wrong on my side while sending your order. Look in 📦 My "
                "orders before ordering it again."
            ),
        )
        return True
    logger.info("the failed update's order %s is told through the outbox", order.id)
    return True
