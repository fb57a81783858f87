"""/healthz, /readyz and /metrics, for the container's health check, an orchestrator and
Prometheus: on the webhook server in webhook mode, on HEALTH_PORT in polling mode.

/healthz says whether the process should be restarted: its loop answers, the background
loops run, and (polling) the last poll for updates ended recently, whatever Telegram said.
/readyz says whether it can do its work now: the database takes a write and Telegram
answered recently (asked with getMe when nothing else has asked it for a while).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiohttp import web

from bot.background import BackgroundLoop
from bot.telegram_session import TelegramContact
from storage.db import Database

# aiogram long-polls for 10 s at a time and retries a failed poll within seconds: a polling
# loop that has not finished a poll for this long is stuck.
POLL_STALE_AFTER = 90.0
# Polling talks to Telegram every few seconds; a webhook bot may not for hours, so past this
# age /readyz asks Telegram itself.
TELEGRAM_FRESH_FOR = 60.0
CHECK_TIMEOUT = 5.0
# However often it is asked, /readyz checks at most this often: each check takes the
# database's write lock, which placing an order waits for too.
READY_FOR = 5.0

Exposition = Callable[[], Awaitable[tuple[bytes, str]]]


@dataclass
class StatusChecks:
    db: Database
    bot: Bot
    contact: TelegramContact
    loops: Sequence[BackgroundLoop]
    polling: bool
    metrics: Exposition | None = None
    clock: Callable[[], float] = time.monotonic
    _serving_since: float | None = field(default=None, init=False)
    _checking: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _verdict: tuple[float, list[str]] | None = field(default=None, init=False)

    async def started(self) -> None:
        """A dispatcher start-up hook (async: aiogram runs a plain function in a thread)."""
        self._serving_since = self.clock()

    def liveness(self) -> list[str]:
        """What is wrong, if anything, in words for the operator."""
        if self._serving_since is None:
            return ["starting"]
        problems = [
            f"{loop.name} is not running"
            for loop in self.loops
            if loop.task is None or loop.task.done()
        ]
        if self.polling:
            last = self.contact.polled_at or self._serving_since
            if last is not None and self.clock() - last > POLL_STALE_AFTER:
                problems.append(f"no poll for updates ended in {self.clock() - last:.0f} s")
        return problems

    async def readiness(self) -> list[str]:
        async with self._checking:  # probes at once share one check
            if self._verdict is None or self.clock() - self._verdict[0] > READY_FOR:
                self._verdict = (self.clock(), await self._check_readiness())
            return self._verdict[1]

    async def _check_readiness(self) -> list[str]:
        problems = [] if self._serving_since is not None else ["starting"]
        try:
            async with asyncio.timeout(CHECK_TIMEOUT), self.db.transaction():
                pass  # BEGIN IMMEDIATE takes the write lock: the file accepts writes
        except Exception as exc:
            problems.append(f"database: {type(exc).__name__}: {exc}")
        if not await self._telegram_answers():
            problems.append("telegram: not answering")
        return problems

    async def _telegram_answers(self) -> bool:
        if self._telegram_fresh():
            return True
        # Whatever it raises, the contact has recorded whether Telegram was reached.
        with contextlib.suppress(Exception):
            await self.bot.get_me(request_timeout=int(CHECK_TIMEOUT))
        return self._telegram_fresh()

    def _telegram_fresh(self) -> bool:
        answered = self.contact.answered_at
        return answered is not None and self.clock() - answered <= TELEGRAM_FRESH_FOR


def add_status_routes(app: web.Application, checks: StatusChecks) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        return _verdict(checks.liveness())

    async def readyz(_request: web.Request) -> web.Response:
        return _verdict(await checks.readiness())

    async def metrics(_request: web.Request) -> web.Response:
        if checks.metrics is None:
            raise web.HTTPNotFound()
        body, content_type = await checks.metrics()
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


def _verdict(problems: list[str]) -> web.Response:
    body: dict[str, Any] = {"status": "failing" if problems else "ok"}
    if problems:
        body["problems"] = problems
    return web.json_response(body, status=503 if problems else 200)
