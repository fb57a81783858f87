"""Shared fixtures: the sandbox panel on 127.0.0.1, a real client, a real database (an SQLite
file, and a throwaway PostgreSQL where a test runs on both)."""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.sandbox import servers
from bot.sandbox.panel import Account, SandboxClock, SandboxPanel, serve
from bot.sandbox.telegram import TelegramEmulator
from bot.sandbox.telegram import serve as serve_telegram
from bot.serving import serve_app
from bot.smmlaba import RetryPolicy, SmmLabaClient
from storage.db import Database
from storage.sqlite import SQLiteDatabase
from tests.harness import BotHarness
from tests.helpers import FAST_NOTIFIER, FAST_TRACKING

ALICE = "alice@example.com"
BOB = "bob@example.com"

# Quick retries keep the suite fast; the number of attempts is what the tests count.
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)


@pytest.fixture
def panel() -> SandboxPanel:
    """A panel whose clock only moves when a test advances it."""
    return SandboxPanel(seed=7, clock=SandboxClock(scale=0.0))


@pytest.fixture
def alice(panel: SandboxPanel) -> Account:
    return panel.add_account(ALICE, secrets.token_hex(16), "1000")


@pytest.fixture
def bob(panel: SandboxPanel) -> Account:
    """A panel account of a person who links it themselves, with 500 on it."""
    return panel.add_account(BOB, secrets.token_hex(20), "500")


@pytest.fixture
async def panel_url(panel: SandboxPanel) -> AsyncIterator[str]:
    async with serve(panel) as url:
        yield url


@pytest.fixture
async def client(panel_url: str, alice: Account) -> AsyncIterator[SmmLabaClient]:
    async with SmmLabaClient(
        alice.username, SecretStr(alice.api_key), url=panel_url, timeout=2.0, retry=FAST_RETRY
    ) as client:
        yield client


def unavailable(exc: servers.ServerUnavailable) -> None:
    """Skip, saying how to install the server; in CI (`CI=true`) a missing server fails."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{exc} (CI runs every test)")
    pytest.skip(str(exc))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[servers.Postgres]:
    try:
        with servers.postgres() as server:
            yield server
    except servers.ServerUnavailable as exc:
        unavailable(exc)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    try:
        with servers.redis() as url:
            yield url
    except servers.ServerUnavailable as exc:
        unavailable(exc)


_databases = itertools.count(1)


@pytest.fixture
async def postgres_url(postgres_server: servers.Postgres) -> AsyncIterator[str]:
    """A new, empty database on the throwaway server, dropped after the test."""
    name = f"test_{next(_databases)}"
    admin = await asyncpg.connect(postgres_server.url())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        yield postgres_server.url(name)
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test that runs on both backends keeps its data."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    async with await Database.open(database_url) as database:
        yield database


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    """For what only SQLite has: the file, WAL, checkpoints."""
    async with await SQLiteDatabase.connect(tmp_path / "bot.sqlite3") as database:
        yield database


@dataclass
class CannedPanel:
    """A stand-in that answers every request with one fixed body, to feed the client shapes
    the sandbox never produces. It keeps the raw request bodies it received."""

    body: bytes = b'{"result": "success", "error": "", "message": {"test": "ok"}}'
    status: int = 200
    content_type: str = "text/html"
    received: list[bytes] = field(default_factory=list)

    def reply(
        self, body: str | bytes, *, status: int = 200, content_type: str = "text/html"
    ) -> None:
        self.body = body.encode() if isinstance(body, str) else body
        self.status = status
        self.content_type = content_type

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(await request.read())
        return web.Response(body=self.body, status=self.status, content_type=self.content_type)


@pytest.fixture
async def canned() -> AsyncIterator[tuple[CannedPanel, str]]:
    stub = CannedPanel()
    app = web.Application()
    app.router.add_post("/vkapi/v1/", stub.handle)
    async with serve_app(app) as base:
        yield stub, f"{base}/vkapi/v1/"


@pytest.fixture
async def canned_client(
    canned: tuple[CannedPanel, str],
) -> AsyncIterator[tuple[CannedPanel, SmmLabaClient]]:
    stub, url = canned
    async with SmmLabaClient(
        ALICE, SecretStr("k" * 32), url=url, timeout=2.0, retry=FAST_RETRY
    ) as client:
        yield stub, client


@pytest.fixture
async def telegram() -> AsyncIterator[tuple[TelegramEmulator, str]]:
    emulator = TelegramEmulator()
    async with serve_telegram(emulator) as url:
        yield emulator, url


BotFactory = Callable[..., BotHarness]


@pytest.fixture
def make_bot(
    telegram: tuple[TelegramEmulator, str],
    panel: SandboxPanel,
    panel_url: str,
    alice: Account,
    tmp_path: Path,
) -> BotFactory:
    """Builds (does not start) the real bot on the sandboxes: Alice's account is the operator's
    unless `operator` says otherwise (None: personal mode); other keywords are settings."""
    emulator, telegram_url = telegram

    def make(
        *, operator: Account | None = alice, database: str = "bot.sqlite3", **settings: Any
    ) -> BotHarness:
        return BotHarness(
            emulator, telegram_url, panel, panel_url, operator, tmp_path / database, **settings
        )

    return make


@pytest.fixture
def on_servers(postgres_url: str, redis_server: str) -> dict[str, Any]:
    """The settings of a replica on PostgreSQL and Redis (each test its own database; Redis
    keys are told apart by the test's own user ids)."""
    return {
        "database_url": SecretStr(postgres_url),
        "redis_url": SecretStr(redis_server),
        "bot_secret_key": SecretStr(Fernet.generate_key().decode()),
    }


@pytest.fixture
async def harness(make_bot: BotFactory) -> AsyncIterator[BotHarness]:
    """The real bot, running. Any request it made that Telegram would refuse fails the test."""
    async with make_bot().running() as bot:
        yield bot


@pytest.fixture
async def mini_app(harness: BotHarness) -> AsyncIterator[str]:
    """The running bot's Mini App on a port of its own: its page's URL."""
    async with harness.mini_app() as url:
        yield url


@pytest.fixture
async def tracking(make_bot: BotFactory) -> AsyncIterator[BotHarness]:
    """The real bot with tracking and notifications fast enough for a test to watch."""
    bot = make_bot(
        tracker=FAST_TRACKING,
        notifier=FAST_NOTIFIER,
        check_interval_seconds=FAST_TRACKING.base_interval,
    )
    async with bot.running():
        yield bot


@pytest.fixture
async def personal(make_bot: BotFactory) -> AsyncIterator[BotHarness]:
    """Personal mode, open to anyone: no operator account, everyone links their own."""
    async with make_bot(operator=None, access="open").running() as bot:
        yield bot
