"""Encryption of the users' panel API keys at rest (Fernet), and where its key comes from.

The key is `BOT_SECRET_KEY`, or a key file beside the database created on first start with mode
0600. Each sealed key names the Telegram user it belongs to, so a row copied onto another user
does not open. At start-up, keys sealed with an older key are sealed again with the first one, so
the older key can later be dropped.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.config import ConfigError, Settings, fernet_keys
from storage import users
from storage.db import Database

logger = logging.getLogger(__name__)

KEY_FILE_SUFFIX = ".key"


class SecretBoxError(Exception):
    """A sealed value does not open with this key (or was not sealed for this user)."""


class SecretBox:
    """Seals and opens short secrets. Several keys may be given: the first seals, any opens,
    so a key can be rotated by putting the new one first."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        fernets = [Fernet(key) for key in keys]
        self._first = fernets[0]
        self._fernet = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "SecretBox(<keys hidden>)"

    def seal(self, user_id: int, secret: str) -> bytes:
        return self._fernet.encrypt(f"{user_id}:{secret}".encode())

    def open(self, user_id: int, sealed: bytes) -> str:
        try:
            plain = self._fernet.decrypt(sealed).decode()
        except (InvalidToken, UnicodeDecodeError):
            raise SecretBoxError("the value does not open with this key") from None
        owner, _, secret = plain.partition(":")
        if owner != str(user_id):
            raise SecretBoxError("the value was sealed for another user")
        return secret

    def reseal(self, user_id: int, sealed: bytes) -> bytes | None:
        """`sealed` sealed again with the first key (same secret, same user, same timestamp), or
        None when there is nothing to do: it is sealed with the first key already, or it does
        not open here for this user at all, which `open` reports."""
        try:
            self._first.decrypt(sealed)
        except InvalidToken:
            pass
        else:
            return None
        try:
            self.open(user_id, sealed)
        except SecretBoxError:
            return None
        return self._fernet.rotate(sealed)


async def reseal_linked(db: Database, box: SecretBox, linked: list[tuple[int, str, bytes]]) -> int:
    """Seal again with the first key, in one transaction, every stored key (`linked`, from
    `users.linked_accounts`) that an older key sealed, so rotating `BOT_SECRET_KEY=new,old`
    needs `old` only until one start-up. Keys that do not open are left for `Accounts.load` to
    refuse. Returns how many were re-sealed."""
    changes: list[tuple[int, bytes, bytes]] = []
    for user_id, _username, sealed in linked:
        resealed = box.reseal(user_id, sealed)
        if resealed is not None:
            changes.append((user_id, sealed, resealed))
    count = await users.reseal_panel_keys(db, changes)
    if count:
        logger.warning("re-sealed %d linked accounts' keys with the first BOT_SECRET_KEY", count)
    return count


def key_file_for(database: Path) -> Path:
    """`data/smmbot.sqlite3` -> `data/smmbot.key`."""
    return database.with_suffix(KEY_FILE_SUFFIX)


def load_secret_box(settings: Settings, *, stored_secrets: int) -> SecretBox:
    """The box for this deployment. `stored_secrets` is how many sealed values the database
    already holds: with some, a key must exist already, because a new one could open none of
    them. Any problem is a one-line `ConfigError`."""
    if settings.bot_secret_key is not None:
        return SecretBox(_parse_keys(settings.bot_secret_key.get_secret_value()))
    path = key_file_for(settings.sqlite_path)
    if path.exists():
        return SecretBox(_read_key_file(path))
    if stored_secrets:
        raise ConfigError(
            f"BOT_SECRET_KEY: not set and the key file {path} is missing, but the database holds "
            f"{stored_secrets} encrypted API key(s); restore the file or set the key they were "
            "saved with"
        )
    return SecretBox([_create_key_file(path)])


def _parse_keys(value: str) -> list[bytes]:
    try:
        return fernet_keys(value)
    except ValueError as exc:
        raise ConfigError(f"BOT_SECRET_KEY: {exc}") from None


def _read_key_file(path: Path) -> list[bytes]:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning("the key file %s is readable by others (mode %o); chmod 600 it", path, mode)
    try:
        return _parse_keys(path.read_text(encoding="ascii"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"BOT_SECRET_KEY: cannot read the key file {path}: {exc}") from None
    except ConfigError:
        raise ConfigError(f"BOT_SECRET_KEY: the key file {path} holds no Fernet key") from None


def _create_key_file(path: Path) -> bytes:
    key = Fernet.generate_key()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ConfigError(f"BOT_SECRET_KEY: cannot create the key file {path}: {exc}") from None
    with os.fdopen(fd, "wb") as file:
        file.write(key + b"\n")
    logger.warning(
        "created %s to encrypt users' API keys: back it up with the database (or set "
        "BOT_SECRET_KEY instead)",
        path,
    )
    return key
