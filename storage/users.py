"""The people who use the bot: their chat, language, notification choice and panel account."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

from storage.db import Database, Row


class NotifyMode(StrEnum):
    """Which moves of an order get a message of their own (its card shows every move, in
    place, without a sound)."""

    ALL = "all"  # its start as well
    FINAL = "final"  # only its end: completion, partial delivery, cancellation, refund, loss


# For people from now on: the order's end only, its start on request. (The column's own
# default is older and never applies: every new row names its mode.)
DEFAULT_NOTIFY = NotifyMode.FINAL.value


@dataclass(frozen=True, slots=True)
class User:
    id: int
    chat_id: int
    first_name: str
    telegram_language: str | None
    language: str | None
    is_active: bool
    notify: NotifyMode
    panel_username: str | None
    panel_apikey: bytes | None = field(repr=False)  # encrypted by the caller


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        chat_id=row["chat_id"],
        first_name=row["first_name"],
        telegram_language=row["telegram_language"],
        language=row["language"],
        is_active=bool(row["is_active"]),
        notify=NotifyMode(row["notify"]),
        panel_username=row["panel_username"],
        panel_apikey=row["panel_apikey"],
    )


async def touch(
    db: Database,
    user_id: int,
    *,
    chat_id: int,
    first_name: str,
    telegram_language: str | None,
) -> User:
    """Record that the user wrote to us: create them, refresh their name, and mark them active
    (a user who writes again has unblocked the bot)."""
    now = time.time()
    rows = await db.fetchall(
        """
        INSERT INTO users (id, chat_id, first_name, telegram_language, notify, created_at,
                           updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET
            chat_id = excluded.chat_id,
            first_name = excluded.first_name,
            telegram_language = excluded.telegram_language,
            is_active = 1,
            updated_at = excluded.updated_at
        RETURNING *
        """,
        (user_id, chat_id, first_name, telegram_language, DEFAULT_NOTIFY, now, now),
    )
    return _user(rows[0])  # an upsert with RETURNING always returns its row


async def get(db: Database, user_id: int) -> User | None:
    row = await db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
    return None if row is None else _user(row)


async def set_active(db: Database, user_id: int, active: bool) -> None:
    await db.execute(
        "UPDATE users SET is_active = ?, updated_at = ? WHERE id = ?",
        (int(active), time.time(), user_id),
    )


async def set_language(db: Database, user_id: int, language: str | None) -> None:
    await db.execute(
        "UPDATE users SET language = ?, updated_at = ? WHERE id = ?",
        (language, time.time(), user_id),
    )


async def set_notify(db: Database, user_id: int, mode: NotifyMode) -> None:
    await db.execute(
        "UPDATE users SET notify = ?, updated_at = ? WHERE id = ?",
        (mode.value, time.time(), user_id),
    )


async def set_panel_account(
    db: Database, user_id: int, username: str | None, encrypted_apikey: bytes | None
) -> None:
    """Link (or, with None, unlink) the user's own panel account. The key arrives encrypted."""
    await db.execute(
        "UPDATE users SET panel_username = ?, panel_apikey = ?, updated_at = ? WHERE id = ?",
        (username, encrypted_apikey, time.time(), user_id),
    )


async def linked_to(db: Database, account: str) -> list[User]:
    """The people who order on their own account `account` and whom Telegram still reaches."""
    rows = await db.fetchall(
        "SELECT * FROM users WHERE panel_username = ? AND panel_apikey IS NOT NULL "
        "AND is_active = 1 ORDER BY id",
        (account,),
    )
    return [_user(row) for row in rows]


async def linked_accounts(db: Database) -> list[tuple[int, str, bytes]]:
    """(user id, panel username, sealed key) of everyone who linked their own account."""
    rows = await db.fetchall(
        "SELECT id, panel_username, panel_apikey FROM users "
        "WHERE panel_username IS NOT NULL AND panel_apikey IS NOT NULL ORDER BY id"
    )
    return [(row["id"], row["panel_username"], bytes(row["panel_apikey"])) for row in rows]


async def reseal_panel_keys(db: Database, changes: list[tuple[int, bytes, bytes]]) -> int:
    """Replace sealed keys, (user id, old sealed key, new sealed key) each, in one transaction:
    all or none. A row whose key is no longer the old one is left alone. Returns how many
    changed."""
    if not changes:
        return 0
    changed = 0
    async with db.transaction() as tx:
        for user_id, old, new in changes:
            changed += await tx.execute(
                "UPDATE users SET panel_apikey = ? WHERE id = ? AND panel_apikey = ?",
                (new, user_id, old),
            )
    return changed


async def count_linked(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) AS n FROM users WHERE panel_apikey IS NOT NULL")
    return 0 if row is None else int(row["n"])


async def count_by_activity(db: Database) -> tuple[int, int]:
    """(active, inactive) users; inactive ones blocked the bot."""
    row = await db.fetchone(
        "SELECT coalesce(sum(is_active), 0) AS active, count(*) - coalesce(sum(is_active), 0) "
        "AS inactive FROM users"
    )
    return (0, 0) if row is None else (int(row["active"]), int(row["inactive"]))
