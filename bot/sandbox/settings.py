"""Settings for the real bot pointed at the two sandboxes (the demo, the tests and the
benchmarks)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.config import Settings
from bot.sandbox.panel import Account, SandboxPanel
from bot.sandbox.panel import serve as serve_panel
from bot.sandbox.telegram import TelegramEmulator
from bot.sandbox.telegram import serve as serve_telegram


def sandbox_settings(
    *,
    token: str,
    telegram_url: str,
    panel_url: str,
    operator: Account | None,
    database: Path,
    **overrides: Any,
) -> Settings:
    """No `.env` is read. Without `operator` the bot runs in personal mode."""
    return Settings(
        _env_file=None,
        bot_token=SecretStr(token),
        telegram_api_url=telegram_url,
        smmlaba_api_url=panel_url,
        smmlaba_username=None if operator is None else operator.username,
        smmlaba_apikey=None if operator is None else SecretStr(operator.api_key),
        database_path=database,
        **overrides,
    )


async def serve_sandboxes(
    stack: AsyncExitStack,
    panel: SandboxPanel,
    emulator: TelegramEmulator,
    *,
    operator: Account | None,
    database: Path,
    **overrides: Any,
) -> Settings:
    """Serves the sandbox panel and the Telegram emulator on 127.0.0.1 while `stack` lasts:
    the settings of a bot pointed at them."""
    panel_url = await stack.enter_async_context(serve_panel(panel))
    telegram_url = await stack.enter_async_context(serve_telegram(emulator))
    return sandbox_settings(
        token=emulator.token,
        telegram_url=telegram_url,
        panel_url=panel_url,
        operator=operator,
        database=database,
        **overrides,
    )
