"""`smmbot run` as an operator runs it: one bot per database, health and readiness over HTTP
in both modes, a stop during a hung start-up, and polling that clears a webhook first."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer

from bot.background import BackgroundLoop
from bot.sandbox.panel import Account, SandboxPanel
from bot.sandbox.telegram import TelegramEmulator
from bot.status_server import StatusChecks
from bot.telegram_session import BotSession
from storage.db import Database
from storage.lock import DatabaseInUse, only_instance
from tests.helpers import eventually
from tests.processes import environment, pointed_at, start_bot

EXIT_DATABASE = 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


async def get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url)


async def until_ok(url: str) -> httpx.Response:
    """The first 200 from `url`, or the last answer after a minute of asking."""
    answer: httpx.Response | None = None
    for _ in range(600):
        with contextlib.suppress(httpx.TransportError):  # not listening yet
            answer = await get(url)
        if answer is not None and answer.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert answer is not None, f"nothing answered at {url}"
    return answer


@pytest.fixture
def env(
    telegram: tuple[TelegramEmulator, str], panel_url: str, alice: Account, tmp_path: Path
) -> dict[str, str]:
    return pointed_at(telegram, panel_url, alice) | {
        "ALLOWED_USERS": "501",
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
    }


# -- one bot per database ------------------------------------------------------------------


@pytest.mark.slow
async def test_a_second_bot_on_the_same_database_refuses_and_a_crash_leaves_no_lock(
    telegram: tuple[TelegramEmulator, str], env: dict[str, str], tmp_path: Path
) -> None:
    emulator, _ = telegram
    first = await start_bot("run", env=env, cwd=tmp_path)
    try:
        await asyncio.wait_for(emulator.polled.wait(), 60)
        second = await start_bot("run", env=env, cwd=tmp_path)
        out, err = await asyncio.wait_for(second.communicate(), 60)
        code, output = second.returncode, (out + err).decode()
        assert code == EXIT_DATABASE, output
        [line] = output.strip().splitlines()
        assert env["DATABASE_PATH"] in line
        assert f"pid {first.pid}" in line
    finally:
        first.kill()  # a crash: no clean-up runs
        await first.wait()

    emulator.polled.clear()
    after_crash = await start_bot("run", env=env, cwd=tmp_path)
    try:
        await asyncio.wait_for(emulator.polled.wait(), 60)
    finally:
        code, output = await stop(after_crash)
    assert code == 0, output


def test_the_lock_names_its_holder(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    with (
        only_instance(database),
        pytest.raises(DatabaseInUse, match=rf"{database} is in use .* \(pid \d+\)"),
        only_instance(database),
    ):
        pass
    with only_instance(database):  # released with the block
        pass


# -- health and readiness ------------------------------------------------------------------


@pytest.mark.slow
async def test_polling_serves_health_readiness_and_metrics_on_health_port(
    telegram: tuple[TelegramEmulator, str], env: dict[str, str], tmp_path: Path
) -> None:
    emulator, _ = telegram
    port = free_port()
    process = await start_bot("run", env=env | {"HEALTH_PORT": str(port)}, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        await asyncio.wait_for(emulator.polled.wait(), 60)
        # Polling began by clearing any webhook: getUpdates is refused while one is set.
        assert "deleteWebhook" in [call.method for call in emulator.calls]
        health = await until_ok(f"{base}/healthz")
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok"}
        ready = await get(f"{base}/readyz")
        assert ready.status_code == 200, ready.text
        # The image's health check, against the real bot.
        probe = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.probe",
            cwd=tmp_path,
            env=environment({"HEALTH_PORT": str(port)}),
        )
        assert await asyncio.wait_for(probe.wait(), 30) == 0
        metrics = await get(f"{base}/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "# TYPE " in metrics.text
    finally:
        code, output = await stop(process)
    assert code == 0, output


@pytest.mark.slow
async def test_polling_serves_the_mini_app_on_its_own_port_when_it_has_an_address(
    telegram: tuple[TelegramEmulator, str], env: dict[str, str], tmp_path: Path
) -> None:
    emulator, _ = telegram
    anna = emulator.user(501, "Anna")
    port = free_port()
    app = {
        "WEBAPP_URL": "https://bot.example.com/app/",
        "WEBAPP_HOST": "127.0.0.1",
        "WEBAPP_PORT": str(port),
    }
    process = await start_bot("run", env=env | app, cwd=tmp_path)
    try:
        page = await until_ok(f"http://127.0.0.1:{port}/app/")
        assert "static/app.js" in page.text
        async with httpx.AsyncClient(timeout=10) as client:
            catalog = await client.get(
                f"http://127.0.0.1:{port}/app/api/catalog",
                headers={"X-Telegram-Init-Data": anna.web_app_init_data()},
            )
        assert catalog.status_code == 200, catalog.text
        assert catalog.json()["services"]
        await asyncio.wait_for(emulator.polled.wait(), 60)
        assert emulator.menu_buttons[None]["web_app"] == {"url": app["WEBAPP_URL"]}
    finally:
        code, output = await stop(process)
    assert code == 0, output


@pytest.mark.slow
async def test_webhook_mode_serves_health_on_the_webhook_server(
    env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    webhook = env | {
        "WEBHOOK_URL": "https://bot.example.com/telegram",
        "WEBHOOK_SECRET": "s3cret-token",
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "HEALTH_PORT": str(free_port()),  # ignored: the webhook server has them
        "WEBAPP_URL": "https://bot.example.com/app/",
        "WEBAPP_PORT": str(free_port()),  # ignored: the webhook server has the Mini App too
    }
    process = await start_bot("run", env=webhook, cwd=tmp_path)
    try:
        health = await until_ok(f"http://127.0.0.1:{port}/healthz")
        assert health.status_code == 200, health.text
        ready = await get(f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 200, ready.text
        page = await get(f"http://127.0.0.1:{port}/app/")
        assert page.status_code == 200
        assert "static/app.js" in page.text
    finally:
        code, output = await stop(process)
    assert code == 0, output


class Idle(BackgroundLoop):
    name = "idle"

    async def run_once(self) -> None:
        await self.pause(60)


async def test_readiness_and_liveness_say_what_is_wrong(
    db: Database, telegram: tuple[TelegramEmulator, str], tmp_path: Path
) -> None:
    emulator, telegram_url = telegram
    loop = Idle()
    async with AsyncExitStackFor(emulator.token, telegram_url) as bot:
        session = bot.session
        assert isinstance(session, BotSession)
        checks = StatusChecks(db, bot, session.contact, [loop], polling=False)
        assert checks.liveness() == ["starting"]
        await checks.started()
        assert checks.liveness() == ["idle is not running"]
        loop.start()
        assert checks.liveness() == []
        assert await checks.readiness() == []  # asked Telegram with getMe
        assert [call.method for call in emulator.calls] == ["getMe"]
        assert await checks.readiness() == []  # and not again while that is fresh
        assert len(emulator.calls) == 1
        await loop.stop()

    # A revoked token is an answer, but not one the bot can work with.
    emulator.fail_next("getMe", 401, description="Unauthorized")
    async with AsyncExitStackFor(emulator.token, telegram_url) as revoked:
        session = revoked.session
        assert isinstance(session, BotSession)
        checks = StatusChecks(db, revoked, session.contact, [], polling=False)
        await checks.started()
        assert await checks.readiness() == ["telegram: not answering"]

    closed = await Database.open(tmp_path / "closed.sqlite3")
    await closed.close()
    async with AsyncExitStackFor("123:nobody", "http://127.0.0.1:9") as unreachable:
        session = unreachable.session
        assert isinstance(session, BotSession)
        checks = StatusChecks(closed, unreachable, session.contact, [], polling=False)
        await checks.started()
        problems = await checks.readiness()
        assert len(problems) == 2
        assert problems[0].startswith("database: ")
        assert problems[1] == "telegram: not answering"


class AsyncExitStackFor:
    """A `Bot` on the bot's own session, closed on the way out."""

    def __init__(self, token: str, api_url: str) -> None:
        self.bot = Bot(token, session=BotSession(api=TelegramAPIServer.from_base(api_url)))

    async def __aenter__(self) -> Bot:
        return self.bot

    async def __aexit__(self, *_exc: object) -> None:
        await self.bot.session.close()


# -- clean starts ----------------------------------------------------------------------------


@pytest.mark.slow
async def test_sigterm_during_a_hung_start_up_stops_at_once(
    panel: SandboxPanel, env: dict[str, str], tmp_path: Path
) -> None:
    panel.set_faults(hang_rate=1.0)  # the first catalog fetch never ends
    process = await start_bot("run", env=env, cwd=tmp_path)
    try:
        await eventually(lambda: panel.calls["services"] >= 1, within=60)
    finally:
        code, output = await stop(process)
    assert code == 0, output
    assert "Traceback" not in output
    assert "stopped during start-up" in output
