"""The bot in a group chat: orders, balances and keys are personal, so everything happens in
the private chat. A command in a group gets one short answer with a button that opens it (for
/connect: an API key is never asked for where others can read it); anything else, silence."""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _


class InGroup(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.chat.type != ChatType.PRIVATE


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(in_group, InGroup())
    return router


async def in_group(message: Message) -> None:
    if not (message.text or "").startswith("/") or message.bot is None:
        return  # the group's own conversation is none of the bot's business
    command = message.text.split()[0].split("@")[0] if message.text else ""
    if command == "/connect":
        text = _(
            "🔒 API keys are never asked for in a group. Open our private chat and send "
            "/connect there."
        )
    else:
        text = _("💬 I work in a private chat: orders, balances and keys are personal.")
    me = await message.bot.me()
    button = InlineKeyboardButton(
        text=_("Open the private chat"), url=f"https://t.me/{me.username}"
    )
    await message.answer(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))
