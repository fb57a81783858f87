"""The last word: stale buttons, text nobody expected, and exceptions nobody caught."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from handlers import keyboards, screens

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


async def unexpected_error(event: ErrorEvent, bot: Bot) -> bool:
    """Registered on the dispatcher, so it sees a failure in any router: log the cause, tell
    the person in one line, never show a traceback."""
    update = event.update
    logger.error(
        "update %s failed: %s", update.update_id, event.exception, exc_info=event.exception
    )
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
