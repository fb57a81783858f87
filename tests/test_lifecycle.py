"""`smmbot run` as in production: one start-up line, SIGTERM stops it cleanly with exit 0."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from bot.sandbox.panel import Account
from bot.sandbox.telegram import TelegramEmulator
from tests.helpers import eventually
from tests.processes import pointed_at, start_bot


@pytest.mark.slow
async def test_run_starts_logs_one_line_and_stops_on_sigterm(
    telegram: tuple[TelegramEmulator, str], panel_url: str, alice: Account, tmp_path: Path
) -> None:
    emulator, _ = telegram
    env = pointed_at(telegram, panel_url, alice) | {
        "ALLOWED_USERS": "501",
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
    }
    process = await start_bot("run", env=env, cwd=tmp_path)
    try:
        await asyncio.wait_for(emulator.polled.wait(), 60)
        anna = emulator.user(501, "Anna")
        await anna.send("/start", wait=False)
        await eventually(lambda: anna.bot_messages, within=10, message="no answer to /start")
        assert "Hi, Anna!" in anna.last_message.text
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    logs = (out + err).decode()
    starting = [line for line in logs.splitlines() if "starting:" in line]
    assert len(starting) == 1
    assert "polling, operator mode" in starting[0]
    assert str(tmp_path / "bot.sqlite3") in starting[0]
    assert "0 tracked orders" in starting[0]
    for secret in (alice.api_key, emulator.token):
        assert secret not in logs
