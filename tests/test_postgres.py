"""What only the PostgreSQL backend has: its placeholders, its migrations (replicas starting
together among them), its types, and the same schema as SQLite's."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from storage import orders, users
from storage.db import Database, DatabaseTooNew
from storage.postgres import MIGRATION_LOCK, PostgresDatabase, changed_rows, placeholders
from storage.schema import MIGRATIONS


def test_placeholders_are_numbered_in_order_outside_quoted_text() -> None:
    assert placeholders("SELECT ? , ?") == "SELECT $1 , $2"
    assert placeholders("WHERE a = ?2 AND b = ?1 OR c = ?2") == "WHERE a = $2 AND b = $1 OR c = $2"
    assert placeholders("SELECT 'what?', ? WHERE x = 'it''s ?'") == (
        "SELECT 'what?', $1 WHERE x = 'it''s ?'"
    )
    assert placeholders("AS $$ SELECT '?' $$; SELECT ?") == "AS $$ SELECT '?' $$; SELECT $1"


def test_the_changed_rows_are_read_from_the_command_tag() -> None:
    assert changed_rows("UPDATE 3") == 3
    assert changed_rows("INSERT 0 1") == 1
    assert changed_rows("DELETE 0") == 0
    assert changed_rows("CREATE TABLE") == 0


async def columns(db: Database) -> dict[str, list[str]]:
    """Each table's columns, in order, whatever the backend."""
    if isinstance(db, PostgresDatabase):
        rows = await db.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name <> 'schema_migrations' "
            "ORDER BY table_name, ordinal_position"
        )
        pairs = [(row["table_name"], row["column_name"]) for row in rows]
    else:
        pairs = []
        for table in await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'sqlite_sequence' "
            "ORDER BY name"
        ):
            for column in await db.fetchall(f"PRAGMA table_info({table['name']})"):
                pairs.append((table["name"], column["name"]))
    tables: dict[str, list[str]] = {}
    for table, column in pairs:
        tables.setdefault(table, []).append(column)
    return tables


async def postgres_schema(db: Database) -> list[tuple[str, ...]]:
    """Columns with their types, indexes and triggers, as PostgreSQL describes them."""
    described = await db.fetchall(
        """
        SELECT 'column', table_name, column_name, data_type, is_nullable,
               coalesce(column_default, '')
        FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL
        SELECT 'index', tablename, indexname, indexdef, '', '' FROM pg_indexes
        WHERE schemaname = 'public'
        UNION ALL
        SELECT 'trigger', event_object_table, trigger_name, action_statement,
               action_condition, event_manipulation
        FROM information_schema.triggers WHERE trigger_schema = 'public'
        ORDER BY 1, 2, 3
        """
    )
    return [tuple(row[i] for i in range(6)) for row in described]


async def test_both_backends_have_the_same_tables_and_columns(
    tmp_path: Path, postgres_url: str
) -> None:
    async with await Database.open(tmp_path / "bot.sqlite3") as sqlite:
        expected = await columns(sqlite)
    async with await Database.open(postgres_url) as postgres:
        assert await columns(postgres) == expected


@pytest.mark.parametrize("version", range(len(MIGRATIONS)))
async def test_every_older_version_migrates_to_the_latest_schema(
    postgres_url: str, version: int
) -> None:
    old_url, fresh_url = postgres_url, postgres_url + "_fresh"
    async with await Database.open(old_url, migrate_to=version) as old:
        assert await old.version() == version
        await old.execute(f"CREATE DATABASE {fresh_url.rsplit('/', 1)[1]}")
    try:
        async with await Database.open(fresh_url) as fresh:
            expected = await postgres_schema(fresh)
        async with await Database.open(old_url) as migrated:
            assert await migrated.version() == len(MIGRATIONS)
            assert await postgres_schema(migrated) == expected
    finally:
        admin = await asyncpg.connect(old_url)
        await admin.execute(f"DROP DATABASE {fresh_url.rsplit('/', 1)[1]} WITH (FORCE)")
        await admin.close()


async def test_replicas_starting_together_migrate_once(postgres_url: str) -> None:
    opened = await asyncio.gather(*(Database.open(postgres_url) for _ in range(4)))
    try:
        rows = await opened[0].fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [row["version"] for row in rows] == list(range(1, len(MIGRATIONS) + 1))
    finally:
        await asyncio.gather(*(db.close() for db in opened))


async def test_a_migration_waits_for_another_replicas(postgres_url: str) -> None:
    holder = await asyncpg.connect(postgres_url)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        opening = asyncio.ensure_future(Database.open(postgres_url))
        await asyncio.sleep(0.3)
        assert not opening.done()  # another replica is migrating: wait for it
        await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        async with await opening as db:
            assert await db.version() == len(MIGRATIONS)
    finally:
        await holder.close()


async def test_a_database_from_a_newer_bot_is_refused(postgres_url: str) -> None:
    async with await Database.open(postgres_url) as db:
        await db.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)",
            (len(MIGRATIONS) + 1,),
        )
    with pytest.raises(DatabaseTooNew, match="schema version"):
        await Database.open(postgres_url)


async def test_money_is_numeric_and_comes_back_as_the_same_decimal(postgres_url: str) -> None:
    async with await Database.open(postgres_url) as db:
        await users.touch(db, 1, chat_id=1, first_name="Anna", telegram_language="ru")
        order, _ = await orders.start_submitting(
            db,
            token="t",
            user_id=1,
            chat_id=1,
            account="alice@example.com",
            service_id="389",
            service_name="Instagram Likes",
            params={"url": "https://x", "count": "250"},
            quantity=250,
            total=Decimal("0.1250"),
        )
        assert order.total == Decimal("0.1250")
        assert str(order.total) == "0.1250"
        row = await db.fetchone(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'orders' AND column_name = 'total'"
        )
        assert row is not None
        assert row["data_type"] == "numeric"
        answered = await orders.mark_placed(
            db, "t", panel_order_id="77", charged=Decimal("0.13"), next_check_at=0
        )
        assert answered.message is not None
        assert answered.message.payload["charged"] == "0.13"  # a string, as SQLite's trigger


async def test_telegram_ids_beyond_32_bits_fit(postgres_url: str) -> None:
    async with await Database.open(postgres_url) as db:
        big = 7_000_000_000
        await users.touch(
            db, big, chat_id=-1_002_000_000_000, first_name="A", telegram_language=None
        )
        user = await users.get(db, big)
        assert user is not None
        assert user.chat_id == -1_002_000_000_000


def test_the_password_never_shows(postgres_url: str) -> None:
    secret_url = postgres_url.replace("postgres@", "postgres:hunter2@")
    shown = repr(PostgresDatabase(pool=None, url=secret_url))
    assert "hunter2" not in shown
    assert "postgres@127.0.0.1" in shown
