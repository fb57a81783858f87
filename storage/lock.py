"""Who may run beside whom. One bot per SQLite database: two would both track every order and
both send every notification; the lock is an OS file lock, held for the process's life, so a
crash never leaves it behind. On PostgreSQL any number of replicas share the work, if they
share their conversations in Redis: a replica keeping conversations in the database (no
REDIS_URL) must be the only one. That lock is a session advisory lock, which PostgreSQL
drops with the connection, so a crash never leaves it behind either."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from storage.db import Database
from storage.postgres import PostgresDatabase

# Held exclusively by a replica without Redis, shared by replicas with it.
REPLICAS_LOCK = 0x736D6D62_6F740002


class DatabaseInUse(Exception):
    """Another process runs a bot on this database; the message is one line naming both."""


def lock_file_for(database: Path) -> Path:
    """`data/smmbot.sqlite3` -> `data/smmbot.sqlite3.lock`."""
    return database.with_name(database.name + ".lock")


@contextmanager
def only_instance(database: Path) -> Iterator[None]:
    """Hold the database's lock until the block ends, or raise `DatabaseInUse`. The file
    keeps the holder's pid, to name it; it is never deleted (deleting a lock file another
    process is about to open would let two hold "the" lock)."""
    if sys.platform == "win32":  # no flock; the bot is run on Linux and macOS
        yield
        return
    import fcntl

    path = lock_file_for(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise DatabaseInUse(
                f"{database} is in use by another smmbot (pid {holder}): one bot per database"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@asynccontextmanager
async def replicas_lock(db: Database, *, alone: bool) -> AsyncIterator[None]:
    """On PostgreSQL, for the block: with `alone`, be the only replica, else run beside other
    replicas that are not alone; raise `DatabaseInUse` when that cannot be. Nothing on
    SQLite, whose file lock already makes a process alone."""
    if not isinstance(db, PostgresDatabase):
        yield
        return
    function = "pg_try_advisory_lock" if alone else "pg_try_advisory_lock_shared"
    async with db.pool.acquire() as connection:
        if not await connection.fetchval(f"SELECT {function}($1)", REPLICAS_LOCK):
            raise DatabaseInUse(
                f"{db.url} is in use by another smmbot that keeps conversations in the "
                "database: replicas need REDIS_URL, all of them"
                if not alone
                else f"{db.url} is in use by another smmbot: a second replica needs REDIS_URL "
                "(set on every replica), or conversations would fork"
            )
        try:
            yield
        finally:
            # This connection's, before the pool reuses it; a connection PostgreSQL already
            # dropped (a restart) took the lock with it.
            with contextlib.suppress(Exception):
                await connection.execute("SELECT pg_advisory_unlock_all()")
