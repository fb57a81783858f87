"""The PostgreSQL backend, on asyncpg's pool: the storage functions' SQL as they write it
(`?` placeholders become `$n` here), migrations recorded in `schema_migrations`, applied by
one replica at a time. Commits are durable as PostgreSQL makes them (`synchronous_commit`),
so the order row written before `add` needs nothing more. Why asyncpg: docs/ARCHITECTURE.md
(Storage).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from storage.db import Database, Dialect, Row, Transaction, require_known, without_password
from storage.schema import MIGRATIONS

# Any number fits: it only has to differ from other users' advisory locks in the database.
MIGRATION_LOCK = 0x736D6D62_6F740001

POOL_SIZE = 10
EXCLUSIVE_BLOCKS = 2  # `one_at_a_time` blocks under way in one process, each holding a connection


@functools.lru_cache(maxsize=1024)
def placeholders(sql: str) -> str:
    """`?` -> `$1`, `$2`, ... in order; `?N` -> `$N`. Quoted text and `$$` bodies are left
    alone."""
    out: list[str] = []
    count, i, n = 0, 0, len(sql)
    while i < n:
        char = sql[i]
        if char == "'":
            end = sql.index("'", i + 1)
            while end + 1 < n and sql[end + 1] == "'":  # '' inside a literal
                end = sql.index("'", end + 2)
            out.append(sql[i : end + 1])
            i = end + 1
        elif sql.startswith("$$", i):
            end = sql.index("$$", i + 2) + 2
            out.append(sql[i:end])
            i = end
        elif char == "?":
            j = i + 1
            while j < n and sql[j].isdigit():
                j += 1
            if j > i + 1:
                out.append("$" + sql[i + 1 : j])
            else:
                count += 1
                out.append(f"${count}")
            i = j
        else:
            out.append(char)
            i += 1
    return "".join(out)


def changed_rows(status: str) -> int:
    """The row count in a command tag: `UPDATE 3` -> 3, `INSERT 0 1` -> 1, `CREATE TABLE` -> 0."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresTransaction:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        return changed_rows(await self._connection.execute(placeholders(sql), *parameters))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._connection.executemany(placeholders(sql), rows)

    async def fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = await self._connection.fetch(placeholders(sql), *parameters)
        return rows


class PostgresDatabase(Database):
    """A pool of connections shared by every statement and transaction of the process."""

    dialect = Dialect.POSTGRES

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self._pool = pool
        self.url = without_password(url)
        self._exclusive = asyncio.Semaphore(EXCLUSIVE_BLOCKS)

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.url!r})"

    @classmethod
    async def connect(
        cls, url: str, *, migrate_to: int | None = None, pool_size: int = POOL_SIZE
    ) -> PostgresDatabase:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size)
        database = cls(pool, url)
        try:
            await database.migrate(migrate_to)
        except BaseException:
            await database.close()
            raise
        return database

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def close(self) -> None:
        await self._pool.close()

    async def version(self) -> int:
        async with self._pool.acquire() as connection:
            return await _version(connection)

    async def migrate(self, target: int | None = None) -> None:
        """Apply the steps after the recorded version, each in its own transaction, holding
        a lock that makes replicas starting together take turns."""
        target = len(MIGRATIONS) if target is None else target
        async with self._pool.acquire() as connection:
            while True:
                async with connection.transaction():
                    await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                    await connection.execute(
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
                    )
                    current = await _version(connection)
                    require_known(self, current)
                    if current >= target:
                        return
                    for statement in MIGRATIONS[current].postgres:
                        await connection.execute(statement)
                    await connection.execute(
                        "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                        current + 1,
                        time.time(),
                    )

    @asynccontextmanager
    async def one_at_a_time(self, name: str) -> AsyncIterator[None]:
        # An advisory lock lives on a connection, held for the block; a few such blocks at a
        # time, so that the pool keeps connections for the work inside them.
        async with self._exclusive, self._pool.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock(hashtext($1))", name)
            try:
                yield
            finally:
                await connection.execute("SELECT pg_advisory_unlock(hashtext($1))", name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._pool.acquire() as connection, connection.transaction():
            yield PostgresTransaction(connection)

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        return changed_rows(await self._pool.execute(placeholders(sql), *parameters))

    async def fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = await self._pool.fetch(placeholders(sql), *parameters)
        return rows


async def _version(connection: asyncpg.Connection) -> int:
    if await connection.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return 0
    return int(await connection.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))
