"""The SQLite backend: WAL, migrations by `PRAGMA user_version`, transactions, and the one
write that must be on disk before it returns (the order row before `add`). Why it is built
this way, with figures: docs/ARCHITECTURE.md (Storage) and docs/PERFORMANCE.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.db import Database, Dialect, NotADatabase, Row, Transaction, require_known
from storage.schema import MIGRATIONS

logger = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that never creates the file and never writes it (no checkpoint on
    close)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such database file")
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)


def stored_schema_version(path: Path) -> int | None:
    """The file's `user_version` (None: no file yet), without changing it. From the header's
    bytes when no write-ahead log is pending (opening a stopped database, even read-only,
    leaves -wal and -shm files beside it); else through SQLite, since the newest header may
    be in the log."""
    try:
        with path.open("rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        return None
    if not header:
        return 0  # SQLite reads an empty file as an empty database
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise NotADatabase(f"{path}: not an SQLite database")
    log = path.with_name(path.name + "-wal")
    if not log.exists() or log.stat().st_size == 0:
        return int.from_bytes(header[60:64], "big")
    try:
        with contextlib.closing(open_read_only(path)) as connection:
            return int(connection.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise NotADatabase(f"{path}: {exc}") from None


PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA wal_autocheckpoint=0",
)
CHECKPOINT_EVERY = 30.0  # seconds
# SQLite's virtual-machine steps a statement may take on the event loop's thread (2 – 3 ms
# here) before it is stopped, undone and run on the worker thread instead.
AT_ONCE_STEPS = 100_000


async def _connect(path: Path) -> aiosqlite.Connection:
    connection = await aiosqlite.connect(path, isolation_level=None)
    connection.row_factory = aiosqlite.Row
    try:
        for pragma in PRAGMAS:
            await connection.execute(pragma)
    except BaseException:
        await connection.close()
        raise
    return connection


def _connect_at_once(path: Path) -> sqlite3.Connection:
    """A connection for short statements run on the caller's thread: it never waits for a lock
    (SQLite answers busy at once instead) and interrupts a statement past `AT_ONCE_STEPS`."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    try:
        for pragma in PRAGMAS:
            connection.execute(pragma)
        connection.execute("PRAGMA busy_timeout=0")
    except BaseException:
        connection.close()
        raise
    connection.set_progress_handler(lambda: 1, AT_ONCE_STEPS)
    return connection


NOT_NOW = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_INTERRUPT)


def _not_now(error: sqlite3.OperationalError) -> bool:
    """Busy, locked or past its steps, in any extended form: the statement changed nothing."""
    return getattr(error, "sqlite_errorcode", 0) & 0xFF in NOT_NOW


class SQLiteTransaction:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        cursor = await self._connection.execute(sql, parameters)
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._connection.executemany(sql, rows)

    async def fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        return list(await self._connection.execute_fetchall(sql, parameters))


class SQLiteDatabase(Database):
    """Single statements (reads, and writes atomic on their own) run at once on the event
    loop's thread, on a connection that never waits: a one-row statement takes tens of
    microseconds there, where a hop to a worker thread queued behind others cost milliseconds.
    When SQLite is busy (a transaction holds the write lock) or the statement is a long one
    (a scan, a large delete), it is undone and waits its turn on the transactions connection
    instead. Transactions run on that second connection, in aiosqlite's thread, one at a
    time, since their statements span awaits. Reads see only committed data (WAL).

    Commits are `synchronous=NORMAL` (durable at the next checkpoint). Checkpoints run every
    `CHECKPOINT_EVERY` seconds on the transactions connection, off the commit path; one that
    fails is logged and tried again at the next turn.
    """

    def __init__(
        self, connection: sqlite3.Connection, transactions: aiosqlite.Connection, path: Path
    ) -> None:
        self._connection = connection
        self._transactions = transactions
        self._log: int | None = None  # the write-ahead log's file, opened to sync it
        self._next_sync: asyncio.Future[None] | None = None
        self._syncing: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._in_transaction: asyncio.Task[Any] | None = None  # the task holding `_lock`
        self.path = path
        self._checkpoints: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"SQLiteDatabase({str(self.path)!r})"

    dialect = Dialect.SQLITE

    @classmethod
    async def connect(cls, path: Path, *, migrate_to: int | None = None) -> SQLiteDatabase:
        path.parent.mkdir(parents=True, exist_ok=True)
        transactions = await _connect(path)
        try:
            connection = _connect_at_once(path)
        except BaseException:
            await transactions.close()
            raise
        database = cls(connection, transactions, path)
        try:
            await database.migrate(migrate_to)
        except BaseException:
            await database.close()
            raise
        database._checkpoints = asyncio.create_task(database._checkpoint_regularly())
        return database

    async def _checkpoint_regularly(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_EVERY)
            try:
                await self.checkpoint()
            except Exception as exc:  # the log keeps growing until one succeeds: say so
                logger.warning(
                    "checkpoint failed (%s); trying again in %.0fs", exc, CHECKPOINT_EVERY
                )

    async def checkpoint(self) -> None:
        """Copy what the write-ahead log holds into the database file, not blocking writers."""
        async with self._lock:
            await self._transactions.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def close(self) -> None:
        if self._syncing is not None:
            await asyncio.gather(self._syncing, return_exceptions=True)
        if self._log is not None:
            os.close(self._log)
            self._log = None
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            await asyncio.gather(self._checkpoints, return_exceptions=True)
        try:
            async with self._lock:
                await self._transactions.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._connection.close()
            await self._transactions.close()

    async def version(self) -> int:
        [row] = await self.fetchall("PRAGMA user_version")
        return int(row[0])

    async def migrate(self, target: int | None = None) -> None:
        """Apply the migrations after the file's `user_version`, each in its own transaction."""
        target = len(MIGRATIONS) if target is None else target
        current = await self.version()
        require_known(self.path, current)
        for version in range(current + 1, target + 1):
            async with self.transaction() as tx:
                for statement in MIGRATIONS[version - 1].sqlite:
                    await tx.execute(statement)
                # PRAGMA takes no parameters; `version` is an int from range().
                await tx.execute(f"PRAGMA user_version = {version:d}")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """`BEGIN IMMEDIATE` ... `COMMIT`, or `ROLLBACK` on any exception (cancellation too)."""
        async with self._lock:
            # aiosqlite runs a queued statement even when its caller is cancelled: a BEGIN cut
            # off by a timeout would still open a transaction nobody ends, and every later one
            # would fail. So a cancelled caller waits for the BEGIN and undoes it.
            begin = asyncio.ensure_future(self._transactions.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begin)
            except asyncio.CancelledError:
                await asyncio.shield(self._undo(begin))
                raise
            self._in_transaction = asyncio.current_task()
            try:
                yield SQLiteTransaction(self._transactions)
            except BaseException:
                await asyncio.shield(self._transactions.execute("ROLLBACK"))
                raise
            finally:
                self._in_transaction = None
            await self._transactions.execute("COMMIT")

    async def _undo(self, begin: asyncio.Future[Any]) -> None:
        with contextlib.suppress(Exception):
            await begin
            await self._transactions.execute("ROLLBACK")

    async def _run(self, sql: str, parameters: Sequence[Any]) -> tuple[list[Row], int]:
        """(rows, rows changed): run now on the event loop's thread, or, when it has to wait
        (busy, or too long, having changed nothing), in its turn on the transactions
        connection."""
        try:
            cursor = self._connection.execute(sql, parameters)
            return cursor.fetchall(), cursor.rowcount
        except sqlite3.OperationalError as error:
            if not _not_now(error):
                raise
        if self._in_transaction is asyncio.current_task():
            # It would wait for the lock this very task holds, for ever.
            raise RuntimeError("a single statement inside the same task's transaction")
        async with self._lock:
            queued = await self._transactions.execute(sql, parameters)
            return list(await queued.fetchall()), queued.rowcount

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        _, changed = await self._run(sql, parameters)
        return changed

    async def fetchall_durable(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        """It commits as usual, then the write-ahead log is fsynced from a worker thread (outside
        SQLite, so no lock is held meanwhile); writes that finish during a sync share the
        next one."""
        rows = await self.fetchall(sql, parameters)
        await self._log_synced()
        return rows

    async def _log_synced(self) -> None:
        """Until a sync of the write-ahead log that started after now has finished."""
        if self._next_sync is None:
            self._next_sync = asyncio.get_running_loop().create_future()
            if self._syncing is None or self._syncing.done():
                self._syncing = asyncio.create_task(self._sync_log())
        await asyncio.shield(self._next_sync)

    async def _sync_log(self) -> None:
        while self._next_sync is not None:
            waiting, self._next_sync = self._next_sync, None
            try:
                if self._log is None:
                    self._log = os.open(f"{self.path}-wal", os.O_RDWR)
                await asyncio.to_thread(os.fsync, self._log)
            except OSError as exc:
                waiting.set_exception(exc)
            else:
                waiting.set_result(None)

    async def fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        rows, _ = await self._run(sql, parameters)
        return rows
