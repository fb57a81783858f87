"""`smmbot backup`: a consistent copy while `smmbot run` holds the database, never an
overwrite, never the instance lock, and a restore that needs the key kept apart from it."""

from __future__ import annotations

import asyncio
import fcntl
import shutil
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.__main__ import EXIT_CONFIG
from bot.config import ConfigError
from bot.sandbox.panel import Account
from bot.sandbox.telegram import TelegramEmulator
from bot.secretbox import key_file_for
from storage import users
from storage.db import Database
from storage.schema import MIGRATIONS
from tests.conftest import BOB, BotFactory
from tests.harness import BotHarness
from tests.helpers import eventually
from tests.processes import pointed_at, run_bot, start_bot

pytestmark = pytest.mark.slow

ADD_USER = "INSERT INTO users (id, chat_id, created_at, updated_at) VALUES (?, ?, 0, 0)"


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Read without writing (no checkpoint, whoever else has the file open)."""
    raw = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return list(raw.execute(sql).fetchall())
    finally:
        raw.close()


@contextmanager
def instance_lock(database: Path) -> Iterator[None]:
    """The per-database lock `smmbot run` holds: `<database>.lock`, flock'ed exclusively."""
    with Path(f"{database}.lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


async def test_a_copy_taken_while_smmbot_run_holds_the_database_has_what_was_committed(
    telegram: tuple[TelegramEmulator, str], panel_url: str, alice: Account, tmp_path: Path
) -> None:
    emulator, _ = telegram
    database = tmp_path / "bot.sqlite3"
    env = pointed_at(telegram, panel_url, alice) | {
        "ALLOWED_USERS": "501",
        "DATABASE_PATH": str(database),
    }
    log = tmp_path / "bot.log"
    with log.open("w") as out:
        process = await start_bot("run", env=env, cwd=tmp_path, stdout=out, stderr=out)
    try:
        await eventually(emulator.polled.is_set, within=60, message=log.read_text)
        anna = emulator.user(501, "Anna")
        await anna.send("/start", wait=False)
        await eventually(lambda: rows(database, "SELECT id FROM users") == [(501,)])
        result = await run_bot("backup", "copy.sqlite3", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stderr == ""

        copy = tmp_path / "copy.sqlite3"
        assert rows(copy, "SELECT id FROM users") == [(501,)]
        assert rows(copy, "PRAGMA quick_check") == [("ok",)]
        assert rows(copy, "PRAGMA user_version") == [(len(MIGRATIONS),)]
        assert rows(copy, "PRAGMA journal_mode") == [("delete",)]  # one file, no -wal to forget
        async with await Database.open(copy) as opened:
            assert await users.get(opened, 501) is not None
        assert f"backed up {database} to copy.sqlite3: " in result.stdout
        assert f"key file: {key_file_for(database)} is not in the copy" in result.stdout

        answers = len(anna.bot_messages)
        await anna.send("/start", wait=False)  # the bot carries on, undisturbed
        await eventually(lambda: len(anna.bot_messages) > answers, message=log.read_text)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
    assert code == 0, log.read_text()
    assert not emulator.violations, emulator.violations


async def test_a_backup_is_one_snapshot_of_what_was_committed_and_takes_no_instance_lock(
    tmp_path: Path,
) -> None:
    database = tmp_path / "bot.sqlite3"
    async with await Database.open(database) as db:
        await users.touch(db, 1, chat_id=1, first_name="Anna", telegram_language="en")
    env = {"DATABASE_PATH": str(database)}
    writer = sqlite3.connect(database, isolation_level=None)
    try:
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute(ADD_USER, (2, 2))  # committed: in the write-ahead log
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(ADD_USER, (3, 3))  # not committed
        # What `smmbot run` holds while it runs: a backup must neither take nor wait for it
        # (waiting would outlast run_bot's minute).
        with instance_lock(database):
            result = await run_bot("backup", "copy.sqlite3", env=env, cwd=tmp_path)
        shutil.copyfile(database, tmp_path / "main-file-alone.sqlite3")
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""
    # User 2 was only in the write-ahead log, and the copy has it; user 3 was never committed.
    assert rows(tmp_path / "main-file-alone.sqlite3", "SELECT id FROM users") == [(1,)]
    assert rows(tmp_path / "copy.sqlite3", "SELECT id FROM users ORDER BY id") == [(1,), (2,)]
    assert (tmp_path / "copy.sqlite3").stat().st_mode & 0o077 == 0  # it holds what the db holds
    assert "none yet" in result.stdout  # no key file was ever made for this database


async def test_a_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    async with await Database.open(database) as db:
        await users.touch(db, 1, chat_id=1, first_name="Anna", telegram_language="en")
    env = {"DATABASE_PATH": str(database)}
    existing = tmp_path / "existing.sqlite3"
    existing.write_bytes(b"an earlier backup")
    backups = tmp_path / "backups"
    backups.mkdir()

    refused = await run_bot("backup", str(existing), env=env, cwd=tmp_path)
    assert refused.returncode == EXIT_CONFIG == 2
    assert refused.stderr == f"smmbot: {existing} exists already; not overwriting it\n"
    assert refused.stdout == ""
    assert existing.read_bytes() == b"an earlier backup"

    made = await run_bot("backup", str(backups), env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    [copy] = backups.iterdir()  # a dated name inside the directory, and nothing half-made
    assert copy.name.startswith("bot-")
    assert copy.suffix == ".sqlite3"
    assert rows(copy, "SELECT id FROM users") == [(1,)]

    again = await run_bot("backup", str(copy), env=env, cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr == f"smmbot: {copy} exists already; not overwriting it\n"
    assert sorted(backups.iterdir()) == [copy]


async def test_a_restore_needs_the_key_kept_apart_and_without_it_links_are_lost(
    personal: BotHarness, make_bot: BotFactory, bob: Account, tmp_path: Path
) -> None:
    bobby = personal.user(801, "Bob")
    await bobby.send("/connect")
    await bobby.send(BOB)
    await bobby.send(bob.api_key)
    assert "✅ Linked" in bobby.last_message.text
    database = personal.settings.database_path
    key_file = key_file_for(database)
    key = key_file.read_text().strip()

    env = {"DATABASE_PATH": str(database)}
    result = await run_bot("backup", "copy.sqlite3", env=env, cwd=tmp_path)  # while it runs
    assert result.returncode == 0, result.stderr
    assert f"key file: {key_file} is not in the copy: back it up separately" in result.stdout
    assert "apart from the database backup" in result.stdout
    assert "without it the 1 linked account(s)' panel API keys" in result.stdout
    with_env = await run_bot(
        "backup", "env.sqlite3", env=env | {"BOT_SECRET_KEY": key}, cwd=tmp_path
    )
    assert "key: BOT_SECRET_KEY, from the environment, is not in the copy" in with_env.stdout
    for output in (result, with_env):
        assert key not in output.stdout + output.stderr
        assert bob.api_key not in output.stdout + output.stderr
    await personal.stop()

    restored = tmp_path / "restored" / "bot.sqlite3"
    restored.parent.mkdir()
    shutil.copyfile(tmp_path / "copy.sqlite3", restored)
    again = make_bot(operator=None, access="open", database="restored/bot.sqlite3")
    with pytest.raises(ConfigError, match=r"key file .* is missing, but the database holds 1"):
        await again.start()
    await again.stop()
    assert not key_file_for(restored).exists()  # no new key shadows the lost one

    shutil.copyfile(key_file, key_file_for(restored))
    async with again.running():
        await bobby.send("/balance")
        assert "💰 Balance: RUB\u00a0500.00" in bobby.last_message.text  # his link, as it was

    # Without the key, the only way on is to unlink those accounts; they /connect again.
    lost = tmp_path / "lost" / "bot.sqlite3"
    lost.parent.mkdir()
    shutil.copyfile(tmp_path / "copy.sqlite3", lost)
    unlink_all(lost)
    async with make_bot(operator=None, access="open", database="lost/bot.sqlite3").running():
        await bobby.send("/account")
        assert "No SMMLaba account is linked yet" in bobby.last_message.text


def unlink_all(database: Path) -> None:
    """What the README says to run when the key is lost for good."""
    with sqlite3.connect(database) as raw:
        raw.execute("UPDATE users SET panel_username = NULL, panel_apikey = NULL")
