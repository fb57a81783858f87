"""The CLI's operating points: `--version`, and a database the bot cannot use stops `run` and
`check` with one line and exit code 3, before anything is changed or called."""

from __future__ import annotations

import sqlite3
from importlib.metadata import version
from pathlib import Path

import pytest

from bot.__main__ import EXIT_DATABASE
from bot.sandbox.panel import Account
from bot.sandbox.telegram import TelegramEmulator
from storage.db import Database
from storage.schema import MIGRATIONS
from tests.processes import pointed_at, run_bot

pytestmark = pytest.mark.slow

NEWER = len(MIGRATIONS) + 1


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        return int(raw.execute("PRAGMA user_version").fetchone()[0])


async def test_version_prints_the_installed_distributions_version(tmp_path: Path) -> None:
    result = await run_bot("--version", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"smmbot {version('smmbot')}\n"


@pytest.mark.parametrize("args", [("run",), ("check",), ("check", "--offline")])
async def test_a_database_from_a_newer_bot_stops_run_and_check_with_one_line(
    args: tuple[str, ...],
    telegram: tuple[TelegramEmulator, str],
    panel_url: str,
    alice: Account,
    tmp_path: Path,
) -> None:
    database = tmp_path / "bot.sqlite3"
    async with await Database.open(database):
        pass
    with sqlite3.connect(database) as raw:
        raw.execute(f"PRAGMA user_version = {NEWER}")
    env = pointed_at(telegram, panel_url, alice) | {"DATABASE_PATH": str(database)}

    result = await run_bot(*args, env=env, cwd=tmp_path)

    assert result.returncode == EXIT_DATABASE == 3, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(
        f"smmbot: database error: {database} has schema version {NEWER}; "
        f"this bot knows up to {len(MIGRATIONS)}"
    ), result.stderr
    assert "newer smmbot" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert user_version(database) == NEWER  # left as the newer bot wrote it
    emulator, _ = telegram
    assert emulator.calls == []  # stopped before calling Telegram at all


async def test_a_file_that_is_not_a_database_stops_check_and_run_alike(
    telegram: tuple[TelegramEmulator, str], panel_url: str, alice: Account, tmp_path: Path
) -> None:
    database = tmp_path / "bot.sqlite3"
    database.write_bytes(b"this is not SQLite\n" * 300)
    env = pointed_at(telegram, panel_url, alice) | {"DATABASE_PATH": str(database)}
    for args in (("check", "--offline"), ("run",)):
        result = await run_bot(*args, env=env, cwd=tmp_path)
        assert result.returncode == EXIT_DATABASE, result.stdout + result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(f"smmbot: database error: {database}: "), result.stderr
        assert "Traceback" not in result.stderr
    assert database.read_bytes() == b"this is not SQLite\n" * 300


async def test_check_tells_the_schema_version_and_creates_no_database(
    telegram: tuple[TelegramEmulator, str], panel_url: str, alice: Account, tmp_path: Path
) -> None:
    database = tmp_path / "data" / "bot.sqlite3"
    env = pointed_at(telegram, panel_url, alice) | {"DATABASE_PATH": str(database)}

    result = await run_bot("check", "--offline", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"database {database} (not created yet)" in result.stdout
    assert not database.exists()

    async with await Database.open(database):
        pass
    result = await run_bot("check", "--offline", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"database {database} (schema version {len(MIGRATIONS)})" in result.stdout
