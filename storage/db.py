"""The database the storage functions talk to: SQLite (one file, one bot: the default) or
PostgreSQL (any number of replicas). The functions in `storage/` write one SQL text for
both, with `?` placeholders; where the dialects differ they pick by `Database.dialect`.
How each backend is built, with figures: docs/ARCHITECTURE.md (Storage).
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import urlsplit, urlunsplit

from storage.schema import MIGRATIONS


class Row(Protocol):
    """A result row: by column name or position (sqlite3.Row and asyncpg.Record both are)."""

    def __getitem__(self, key: int | str, /) -> Any: ...


class Dialect(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgres"


class DatabaseTooNew(Exception):
    """Written by a newer version of the bot; refusing to guess at its schema."""


class NotADatabase(Exception):
    """The file is not an SQLite database; the message is one line."""


def require_known(where: object, version: int) -> None:
    if version > len(MIGRATIONS):
        raise DatabaseTooNew(
            f"{where} has schema version {version}; this bot knows up to {len(MIGRATIONS)}"
        )


class Transaction(Protocol):
    """Statements that commit together, or not at all."""

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        """The number of rows the statement changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]: ...


def is_postgres_url(target: Path | str) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def sqlite_path(target: Path | str) -> Path:
    """`sqlite:///data/x.sqlite3` or `data/x.sqlite3` -> the file's path."""
    return Path(target.removeprefix("sqlite:///") if isinstance(target, str) else target)


def without_password(url: str) -> str:
    parts = urlsplit(url)
    query = "&".join(
        pair for pair in parts.query.split("&") if pair and not pair.startswith("password=")
    )
    parts = parts._replace(query=query)
    if parts.password is None:
        return urlunsplit(parts)
    host = parts.hostname or ""
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


class Database(abc.ABC):
    """What every storage function needs. `open` picks the backend by its argument: a
    `postgresql://` URL, an `sqlite:///path` URL, or a path."""

    dialect: Dialect

    @classmethod
    async def open(cls, target: Path | str, *, migrate_to: int | None = None) -> Database:
        """Open (creating if needed) and migrate to `migrate_to`, by default the latest
        schema."""
        if is_postgres_url(target):
            from storage.postgres import PostgresDatabase

            return await PostgresDatabase.connect(str(target), migrate_to=migrate_to)
        from storage.sqlite import SQLiteDatabase

        return await SQLiteDatabase.connect(sqlite_path(target), migrate_to=migrate_to)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def version(self) -> int:
        """The schema version the database is at (0: empty)."""

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """Commit when the block ends, roll back on any exception (cancellation too)."""

    @abc.abstractmethod
    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        """One statement, atomic on its own; returns the number of rows it changed."""

    @abc.abstractmethod
    async def fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        """Every row, in one round trip. Also for a single INSERT/UPDATE ... RETURNING, which
        is atomic on its own."""

    async def fetchall_durable(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        """Like `fetchall`, for one statement that must be on disk when it returns."""
        return await self.fetchall(sql, parameters)

    @asynccontextmanager
    async def one_at_a_time(self, name: str) -> AsyncIterator[None]:
        """The block runs in one replica at a time for `name`, the others waiting their turn
        (fetching an account's catalog). With one process, as on SQLite, it just runs."""
        yield

    async def fetchone(self, sql: str, parameters: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or of a statement's RETURNING clause."""
        rows = await self.fetchall(sql, parameters)
        return rows[0] if rows else None
