"""The database file seen from outside the bot: its schema version, and a consistent copy of
it taken while the bot runs (SQLite's online backup API). Both open the file read-only, so
neither writes to it, and neither takes or waits for the bot's instance lock: SQLite's own
locks are enough, and in WAL mode a reader never blocks the bot's writers.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from storage.sqlite import open_read_only


class BackupError(Exception):
    """The copy could not be made; the message is one line."""


class BackupExists(BackupError):
    """The target exists already: a backup never replaces a file."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    size: int  # bytes
    schema_version: int
    sealed_keys: int  # users' panel API keys in the copy, which only the bot's key opens


async def backup(source: Path, target: Path) -> BackupResult:
    """Copy `source` to `target` as one snapshot of committed data, in a worker thread. The
    copy appears at `target` only once complete and checked; an existing `target` is never
    replaced (`BackupExists`). A directory as `target` gets `<name>-<UTC time>.sqlite3`
    inside it."""
    return await asyncio.to_thread(_backup, source, target)


def _backup(source: Path, target: Path) -> BackupResult:
    if target.is_dir():
        target = target / f"{source.stem}-{_utc_stamp()}.sqlite3"
    if target.exists() or target.is_symlink():
        raise BackupExists(f"{target} exists already; not overwriting it")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent}: no such directory")
    if not source.is_file():
        raise BackupError(f"{source}: no such database file")
    try:
        fd, partial_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".partial", dir=target.parent
        )
    except OSError as exc:
        raise BackupError(f"cannot write in {target.parent}: {exc.strerror or exc}") from None
    os.close(fd)
    partial = Path(partial_name)
    try:
        live = open_read_only(source)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot open {source}: {exc}") from None
    try:
        try:
            copy = sqlite3.connect(partial)
            try:
                # All pages in one step: one read transaction, so one snapshot. In steps, a
                # write by the bot between two of them would restart the copy, maybe forever.
                live.backup(copy, pages=-1)
                # One self-contained file, which a reader does not grow a -wal and -shm beside;
                # the bot turns WAL on again when it opens a restored copy.
                copy.execute("PRAGMA journal_mode=DELETE")
                checked = copy.execute("PRAGMA quick_check").fetchone()[0]
                if checked != "ok":
                    raise BackupError(f"the copy fails its integrity check: {checked}")
                version = int(copy.execute("PRAGMA user_version").fetchone()[0])
                sealed = _sealed_keys(copy)
            finally:
                copy.close()
        finally:
            live.close()
        _fsync(partial)
        size = partial.stat().st_size
        _publish(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"the copy failed: {exc}") from None
    except BackupError:
        raise
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(target, size, version, sealed)


def _utc_stamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def _sealed_keys(copy: sqlite3.Connection) -> int:
    try:
        row = copy.execute("SELECT count(*) FROM users WHERE panel_apikey IS NOT NULL").fetchone()
    except sqlite3.Error:  # a file older or newer than this schema: nothing to count here
        return 0
    return int(row[0])


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(partial: Path, target: Path) -> None:
    """`partial` appears as `target`, unless `target` appeared meanwhile."""
    try:
        # A hard link fails if the name is taken: no window for replacing a file.
        os.link(partial, target)
    except FileExistsError:
        raise BackupExists(f"{target} exists already; not overwriting it") from None
    except OSError:  # a file system without hard links
        if target.exists():
            raise BackupExists(f"{target} exists already; not overwriting it") from None
        os.replace(partial, target)
    with contextlib.suppress(OSError):  # not every platform can sync a directory
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
