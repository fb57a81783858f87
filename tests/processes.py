"""`python -m bot` in its own process: the one way the tests start it. Tests that do are
marked `slow` (they still run by default)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bot.config import Settings
from bot.sandbox.panel import Account
from bot.sandbox.telegram import TelegramEmulator

# The environment contract: every variable the bot reads.
VARIABLES = [name.upper() for name in Settings.model_fields]

PIPE = asyncio.subprocess.PIPE
STDOUT = asyncio.subprocess.STDOUT
Stream = int | IO[Any] | None


def environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any of the bot's variables (none from the
    developer's machine leaks into a test), unbuffered output, then `env`."""
    base = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    return {**base, "PYTHONUNBUFFERED": "1", **(env or {})}


def pointed_at(
    telegram: tuple[TelegramEmulator, str], panel_url: str, operator: Account
) -> dict[str, str]:
    """The variables that point the bot at the Telegram emulator and the sandbox panel, on
    `operator`'s account."""
    emulator, telegram_url = telegram
    return {
        "BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": telegram_url,
        "SMMLABA_API_URL": panel_url,
        "SMMLABA_USERNAME": operator.username,
        "SMMLABA_APIKEY": operator.api_key,
    }


async def start_bot(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: Stream = None,
    stdout: Stream = PIPE,
    stderr: Stream = PIPE,
) -> asyncio.subprocess.Process:
    """`python -m bot *args` in `cwd`, with `env` over a clean `environment()`."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=cwd,
        env=environment(env),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
    )


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


async def run_bot(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Finished:
    """`python -m bot *args` run to its end (killed after a minute), its output collected."""
    process = await start_bot(*args, cwd=cwd, env=env)
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())
