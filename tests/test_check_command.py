"""`smmbot check` against the emulators: a clear report, and non-zero on any failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox.panel import Account
from bot.sandbox.telegram import TelegramEmulator
from tests.processes import pointed_at, run_bot

pytestmark = pytest.mark.slow


async def test_a_good_configuration_reaches_telegram_and_the_panel(
    telegram: tuple[TelegramEmulator, str], panel_url: str, alice: Account, tmp_path: Path
) -> None:
    env = pointed_at(telegram, panel_url, alice)
    result = await run_bot("check", env=env, cwd=tmp_path)
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, err
    assert "configuration ok: operator mode, polling" in out
    assert "telegram ok: @smmlaba_test_bot" in out
    assert f"panel ok: {alice.username}, balance 1000.0000 RUB" in out
    assert alice.api_key not in out + err

    result = await run_bot("check", env={**env, "SMMLABA_APIKEY": "wrong"}, cwd=tmp_path)
    assert result.returncode == 1
    assert "panel check failed" in result.stderr
    assert "Неверный email или API ключ" in result.stderr

    result = await run_bot("check", env={**env, "BOT_TOKEN": "999:wrong"}, cwd=tmp_path)
    assert result.returncode == 1
    assert "telegram check failed" in result.stderr
    assert "999:wrong" not in result.stdout + result.stderr
