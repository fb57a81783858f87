"""Admin commands (ADMIN_IDS only)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.config import Settings
from bot.formatting import quote, short
from storage import outbox
from storage.db import Database
from storage.outbox import OutboxStatus

SHOWN = 10


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(parked, Command("parked"))
    return router


async def parked(message: Message, db: Database, settings: Settings) -> None:
    """Notifications that kept failing and were set aside, newest first."""
    if message.from_user is None or message.from_user.id not in settings.admin_ids:
        await message.answer(_("This command is not available."))
        return
    rows = await outbox.with_status(db, OutboxStatus.PARKED, limit=SHOWN)
    if not rows:
        await message.answer(_("No parked notifications."))
        return
    lines = [_("📮 Parked notifications (newest {count}):").format(count=len(rows))]
    for row in rows:
        error = quote(short(row.last_error or "", 80))
        lines.append(f"#{row.id} · user {row.user_id} · {row.attempts}× · {error}")
    await message.answer("\n".join(lines))
