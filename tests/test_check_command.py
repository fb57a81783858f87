"""`smmbot check` against the emulators: a clear report, and non-zero on any failure."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.sandbox.panel import Account
from bot.sandbox.telegram import TelegramEmulator
from tests.test_config import VARIABLES


async def smmbot_check(env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    base = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check",
        env={**base, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_good_configuration_reaches_telegram_and_the_panel(
    telegram: tuple[TelegramEmulator, str], panel_url: str, alice: Account, tmp_path: Path
) -> None:
    emulator, telegram_url = telegram
    env = {
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": telegram_url,
        "SMMLABA_API_URL": panel_url,
        "SMMLABA_USERNAME": alice.username,
        "SMMLABA_APIKEY": alice.api_key,
    }
    code, out, err = await smmbot_check(env, tmp_path)
    assert code == 0, err
    assert "configuration ok: operator mode, polling" in out
    assert "telegram ok: @smmlaba_test_bot" in out
    assert f"panel ok: {alice.username}, balance 1000.0000 RUB" in out
    assert alice.api_key not in out + err

    code, out, err = await smmbot_check({**env, "SMMLABA_APIKEY": "wrong"}, tmp_path)
    assert code == 1
    assert "panel check failed" in err
    assert "Неверный email или API ключ" in err

    code, out, err = await smmbot_check({**env, "BOT_TOKEN": "999:wrong"}, tmp_path)
    assert code == 1
    assert "telegram check failed" in err
    assert "999:wrong" not in out + err
