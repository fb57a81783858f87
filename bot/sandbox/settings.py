"""Settings for the real bot pointed at the two sandboxes (the demo and the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.config import Settings
from bot.sandbox.panel import Account


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
