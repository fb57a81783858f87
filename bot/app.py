"""Building the bot and its dispatcher, and running them with their services.

Nothing here lives at module level: every object is built by a function and reaches handlers
through the dispatcher's workflow data (aiogram injects it by parameter name).
"""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack

import httpx
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation

from bot.config import Settings
from bot.smmlaba import Panel, SmmLabaClient
from handlers import build_routers
from storage import orders
from storage.db import Database
from storage.fsm import SQLiteStorage

logger = logging.getLogger(__name__)


def build_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        token=settings.require_bot_token().get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def build_operator_panel(
    settings: Settings, http: httpx.AsyncClient | None = None
) -> SmmLabaClient | None:
    """The operator's panel account from the environment, or None in personal mode."""
    if settings.operator_account is None:
        return None
    username, api_key = settings.operator_account
    return SmmLabaClient(
        username,
        api_key,
        url=settings.smmlaba_api_url,
        timeout=settings.smmlaba_timeout_seconds,
        http=http,
    )


def build_dispatcher(
    *, settings: Settings, db: Database, panel: Panel | None, storage: BaseStorage | None = None
) -> Dispatcher:
    """One dispatcher with fresh routers; `panel` is the operator's account, if configured."""
    dispatcher = Dispatcher(
        storage=storage or SQLiteStorage(db),
        events_isolation=SimpleEventIsolation(),
        settings=settings,
        db=db,
        panel=panel,
    )
    dispatcher.include_routers(*build_routers())
    return dispatcher


async def run_bot(settings: Settings) -> None:
    """Poll Telegram until SIGINT/SIGTERM, then close everything that was opened."""
    async with AsyncExitStack() as stack:
        db = await Database.open(settings.database_path)
        stack.push_async_callback(db.close)
        http = await stack.enter_async_context(httpx.AsyncClient())
        panel = build_operator_panel(settings, http)
        bot = build_bot(settings)
        stack.push_async_callback(bot.session.close)
        dispatcher = build_dispatcher(settings=settings, db=db, panel=panel)
        logger.info(
            "starting: polling, %s mode, database %s, %d tracked orders",
            "operator" if panel is not None else "personal",
            settings.database_path,
            await orders.count_tracked(db),
        )
        await dispatcher.start_polling(bot, handle_signals=True, close_bot_session=False)
