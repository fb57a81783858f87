"""The whole bot on 127.0.0.1: the sandbox panel, the Telegram emulator, and the real bot
(real Dispatcher polling, real SQLite file), started and stopped like in production."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from aiohttp import web

from bot.app import Services, running
from bot.notifier import NotifierConfig
from bot.sandbox.panel import Account, SandboxPanel
from bot.sandbox.settings import sandbox_settings
from bot.sandbox.telegram import HandledMarker, SimulatedUser, TelegramEmulator
from bot.serving import serve_app
from bot.tracker import TrackerConfig
from handlers.middlewares import register_outermost
from webapp.api import PATH as MINI_APP_PATH

# The people the tests talk as; ALLOWED_USERS unless a test says otherwise.
TEAM = frozenset({42, 501, 502, 666, *range(600, 610), *range(700, 710)})


class BotHarness:
    def __init__(
        self,
        emulator: TelegramEmulator,
        telegram_url: str,
        panel: SandboxPanel,
        panel_url: str,
        account: Account | None,
        database: Path,
        *,
        tracker: TrackerConfig | None = None,
        notifier: NotifierConfig | None = None,
        **settings: Any,
    ) -> None:
        self.tracker_config = tracker
        self.notifier_config = notifier
        self.emulator = emulator
        self.panel = panel
        self.account = account
        self.settings = sandbox_settings(
            token=emulator.token,
            telegram_url=telegram_url,
            panel_url=panel_url,
            operator=account,
            database=database,
            smmlaba_timeout_seconds=settings.pop("smmlaba_timeout_seconds", 2.0),
            allowed_users=settings.pop("allowed_users", TEAM),
            # Tests type faster than people; the throttling test sets its own limits.
            throttle_burst=settings.pop("throttle_burst", 1000),
            throttle_per_second=settings.pop("throttle_per_second", 1000),
            **settings,
        )
        self.bot: Bot | None = None
        self.dispatcher: Dispatcher | None = None
        self.services: Services | None = None
        self._stack: AsyncExitStack | None = None
        self._polling: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[BotHarness]:
        """Started for the block and stopped after it; then any request the bot made that
        Telegram would refuse fails the test."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()
        assert not self.emulator.violations, "requests Telegram would refuse:\n" + "\n".join(
            str(v) for v in self.emulator.violations
        )

    async def start(self) -> None:
        self._stack = AsyncExitStack()
        bot, dispatcher, services = await self._stack.enter_async_context(
            running(
                self.settings,
                tracker_config=self.tracker_config,
                notifier_config=self.notifier_config,
            )
        )
        register_outermost(dispatcher, HandledMarker(self.emulator))
        self.bot, self.dispatcher, self.services = bot, dispatcher, services
        self.emulator.polled.clear()
        self._polling = asyncio.create_task(
            dispatcher.start_polling(
                bot, handle_signals=False, close_bot_session=False, polling_timeout=1
            )
        )
        polled = asyncio.create_task(self.emulator.polled.wait())
        await asyncio.wait({polled, self._polling}, return_when=asyncio.FIRST_COMPLETED, timeout=10)
        if self._polling.done():
            self._polling.result()  # start-up failed: raise its error here
        polled.cancel()

    async def stop(self) -> None:
        if self.dispatcher is not None and self._polling is not None:
            with contextlib.suppress(RuntimeError):
                await self.dispatcher.stop_polling()
            await self._polling
        if self._stack is not None:
            await self._stack.aclose()
        self.bot = self.dispatcher = self._polling = self._stack = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @asynccontextmanager
    async def mini_app(self) -> AsyncIterator[str]:
        """The Mini App served on a port of its own while the block runs: its page's URL."""
        assert self.services is not None, "start the bot first"
        app = web.Application()
        self.services.mini_app.add_to(app)
        async with serve_app(app) as base:
            yield f"{base}{MINI_APP_PATH}"

    def user(self, user_id: int, first_name: str, language_code: str = "en") -> SimulatedUser:
        return self.emulator.user(user_id, first_name, language_code=language_code)

    def panel_calls(self, action: str) -> int:
        return self.panel.calls[action]
