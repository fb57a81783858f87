"""One bot per SQLite database: two would both track every order and both send every
notification. The lock is an OS file lock, held for the process's life, so a crash never
leaves it behind."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
