"""Webhook mode: Telegram's updates arrive by POST, and only with the secret token."""

from __future__ import annotations

from pathlib import Path

import httpx
from pydantic import SecretStr

from bot.app import build_webhook_app, running
from bot.sandbox.panel import Account
from bot.sandbox.settings import sandbox_settings
from bot.sandbox.telegram import TelegramEmulator
from bot.serving import serve_app
from tests.helpers import eventually

SECRET = "s3cret-Token_1"


async def test_updates_need_the_secret_token(
    telegram: tuple[TelegramEmulator, str], panel_url: str, alice: Account, tmp_path: Path
) -> None:
    emulator, telegram_url = telegram
    anna = emulator.user(501, "Anna")
    settings = sandbox_settings(
        token=emulator.token,
        telegram_url=telegram_url,
        panel_url=panel_url,
        operator=alice,
        database=tmp_path / "bot.sqlite3",
        allowed_users=frozenset({501}),
        webhook_url="https://bot.example.com/telegram/hook",
        webhook_secret=SecretStr(SECRET),
    )
    update = {"update_id": 1, "message": anna.typed("/start")}
    async with running(settings) as (bot, dispatcher, services):
        app = build_webhook_app(bot, dispatcher, settings, services.status)
        async with serve_app(app) as base, httpx.AsyncClient() as http:
            hook = f"{base}/telegram/hook"
            forged = await http.post(hook, json=update)
            wrong = await http.post(
                hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"}
            )
            assert (forged.status_code, wrong.status_code) == (401, 401)
            real = await http.post(
                hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert real.status_code == 200
            await eventually(lambda: anna.bot_messages, within=4, message="no answer to /start")
    assert "Hi, Anna!" in anna.last_message.text
    assert len(anna.bot_messages) == 1  # the refused posts did nothing
    assert not emulator.violations
