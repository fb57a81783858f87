"""`smmbot run` as in production: one start-up line, SIGTERM stops it cleanly with exit 0."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from bot.sandbox.panel import Account
from bot.sandbox.telegram import TelegramEmulator
from tests.test_config import VARIABLES


async def test_run_starts_logs_one_line_and_stops_on_sigterm(
    telegram: tuple[TelegramEmulator, str], panel_url: str, alice: Account, tmp_path: Path
) -> None:
    emulator, telegram_url = telegram
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES} | {
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": telegram_url,
        "SMMLABA_API_URL": panel_url,
        "SMMLABA_USERNAME": alice.username,
        "SMMLABA_APIKEY": alice.api_key,
        "ALLOWED_USERS": "501",
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await asyncio.wait_for(emulator.polled.wait(), 60)
        anna = emulator.user(501, "Anna")
        await anna.send("/start", wait=False)
        for _ in range(500):
            if anna.bot_messages:
                break
            await asyncio.sleep(0.02)
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
