"""Messages waiting to be sent: written in the same transaction as the event they announce,
marked sent only after Telegram accepted them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from storage.db import Database, Dialect, Row, Transaction


class Kind(StrEnum):
    """What a notification tells, which decides how it is worded."""

    ORDER_STATUS = "order_status"  # the tracker saw an order start or end: a message
    ORDER_CARD = "order_card"  # the tracker saw an order move: its live card, edited
    # The panel's answer to `add` (queued by the schema's `orders_answered` trigger).
    ORDER_PLACED = "order_placed"
    ORDER_REJECTED = "order_rejected"
    ORDER_UNCERTAIN = "order_uncertain"
    PANEL_DOWN = "panel_down"  # for admins
    PANEL_UP = "panel_up"
    LOW_BALANCE = "low_balance"  # a panel account's balance fell under its warning's amount
    BATCH_ENDED = "batch_ended"  # every order of a batch (several links) has ended


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    PARKED = "parked"  # kept failing; left for an admin to look at
    DROPPED = "dropped"  # the user blocked the bot


@dataclass(frozen=True, slots=True)
class Notification:
    """What to announce; `dedupe_key` names the event so it is queued at most once."""

    dedupe_key: str
    user_id: int
    chat_id: int
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    dedupe_key: str
    user_id: int
    chat_id: int
    kind: str
    payload: dict[str, Any]
    status: OutboxStatus
    attempts: int
    next_attempt_at: float
    last_error: str | None


def _message(row: Row) -> OutboxMessage:
    return OutboxMessage(
        id=row["id"],
        dedupe_key=row["dedupe_key"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        status=OutboxStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
    )


async def add_in(tx: Transaction, notification: Notification, now: float) -> bool:
    """Queue inside the caller's transaction; False if this event was queued before.
    For a user who blocked the bot the row is recorded as dropped: sending it would only
    earn another 403."""
    added = await tx.execute(
        """
        INSERT INTO outbox (dedupe_key, user_id, chat_id, kind, payload, next_attempt_at,
                            created_at, status, last_error)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6,
                CASE WHEN EXISTS (SELECT 1 FROM users WHERE id = ?2 AND is_active = 0)
                     THEN 'dropped' ELSE 'pending' END,
                CASE WHEN EXISTS (SELECT 1 FROM users WHERE id = ?2 AND is_active = 0)
                     THEN 'user is inactive' END)
        ON CONFLICT (dedupe_key) DO NOTHING
        """,
        (
            notification.dedupe_key,
            notification.user_id,
            notification.chat_id,
            notification.kind,
            json.dumps(notification.payload, ensure_ascii=False),
            now,
        ),
    )
    return added == 1


async def add(db: Database, notification: Notification) -> bool:
    async with db.transaction() as tx:
        return await add_in(tx, notification, time.time())


# The oldest pending message of each chat, if its time has come and nobody has taken it: a
# chat's messages go out in the order they were queued, and one waiting for a retry (or
# taken by a replica) holds back the rest. ?1 now, ?2 how many. Ordered by `o.id + 0`, so
# that SQLite finds the pending rows through `outbox_due` and sorts those few, rather than
# walk the whole table (sent rows are kept for weeks) in the order of its ids.
_DUE = """
SELECT {columns} FROM outbox AS o
WHERE o.status = 'pending' AND o.next_attempt_at <= ?1
  AND (o.lease_until IS NULL OR o.lease_until <= ?1)
  AND NOT EXISTS (
      SELECT 1 FROM outbox AS e
      WHERE e.chat_id = o.chat_id AND e.status = 'pending' AND e.id < o.id
  )
  {paced}
ORDER BY o.id + 0 LIMIT ?2
"""
# Not while the chat had a message sent by any replica within ?4 seconds (Telegram's pace
# for one chat).
_PACED = """
  AND NOT EXISTS (
      SELECT 1 FROM outbox AS s
      WHERE s.chat_id = o.chat_id AND s.status = 'sent' AND s.sent_at > ?1 - ?4
  )
"""
_CLAIM_DUE = {
    dialect: (
        f"UPDATE outbox SET lease_until = ?3 "  # noqa: S608 - fixed fragments
        f"WHERE id IN ({_DUE.format(columns='o.id', paced=_PACED)}{lock}) RETURNING *"
    )
    for dialect, lock in ((Dialect.SQLITE, ""), (Dialect.POSTGRES, "FOR UPDATE OF o SKIP LOCKED"))
}


async def due(db: Database, now: float, limit: int = 100) -> list[OutboxMessage]:
    """The messages a notifier would take now (`claim_due`), without taking them."""
    rows = await db.fetchall(_DUE.format(columns="*", paced=""), (now, limit))
    return [_message(row) for row in rows]


async def claim_due(
    db: Database, now: float, limit: int, *, lease_until: float, spacing: float
) -> list[OutboxMessage]:
    """Take up to `limit` due messages to send, until `lease_until`, skipping chats that had
    a message within `spacing` seconds: no other replica takes them meanwhile. Recording the
    outcome ends the lease, as `unclaim` does."""
    rows = await db.fetchall(_CLAIM_DUE[db.dialect], (now, limit, lease_until, spacing))
    return sorted((_message(row) for row in rows), key=lambda message: message.id)


async def claim(db: Database, message_id: int, now: float, lease_until: float) -> bool:
    """Take one pending message to send now, unless a notifier has it; False if so, or if it
    is no longer pending."""
    taken = await db.execute(
        """
        UPDATE outbox SET lease_until = ?
        WHERE id = ? AND status = 'pending' AND (lease_until IS NULL OR lease_until <= ?)
        """,
        (lease_until, message_id, now),
    )
    return taken == 1


async def unclaim(db: Database, message_id: int) -> None:
    """Taken but not attempted: due again at once, for any replica."""
    await db.execute("UPDATE outbox SET lease_until = NULL WHERE id = ?", (message_id,))


async def release(db: Database, message_id: int) -> None:
    """A message held back for its own sender (see the schema's `orders_answered`) is due now:
    nobody else is going to send it."""
    await db.execute(
        "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending'",
        (time.time(), message_id),
    )


async def release_claims(db: Database, now: float) -> int:
    """At the start of the only replica: messages held back for a sender that is gone, or
    taken by a notifier that is gone, become due now."""
    return await db.execute(
        """
        UPDATE outbox SET next_attempt_at = CASE WHEN attempts = 0 AND next_attempt_at > ?1
                                                 THEN ?1 ELSE next_attempt_at END,
                          lease_until = NULL
        WHERE status = 'pending'
          AND ((attempts = 0 AND next_attempt_at > ?1) OR lease_until IS NOT NULL)
        """,
        (now,),
    )


async def get(db: Database, dedupe_key: str) -> OutboxMessage | None:
    row = await db.fetchone("SELECT * FROM outbox WHERE dedupe_key = ?", (dedupe_key,))
    return None if row is None else _message(row)


async def mark_sent(db: Database, message_id: int) -> None:
    await db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, "
        "lease_until = NULL WHERE id = ?",
        (time.time(), message_id),
    )


async def retry_later(db: Database, message_id: int, error: str, next_attempt_at: float) -> None:
    await db.execute(
        """
        UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
                          lease_until = NULL
        WHERE id = ? AND status = 'pending'
        """,
        (error, next_attempt_at, message_id),
    )


async def park(db: Database, message_id: int, error: str) -> None:
    await db.execute(
        """
        UPDATE outbox SET status = 'parked', attempts = attempts + 1, last_error = ?,
                          lease_until = NULL
        WHERE id = ? AND status = 'pending'
        """,
        (error, message_id),
    )


async def drop_for_user(db: Database, user_id: int, reason: str) -> int:
    """Give up on everything pending for a user who blocked the bot; returns how many."""
    return await db.execute(
        """
        UPDATE outbox SET status = 'dropped', last_error = ?
        WHERE user_id = ? AND status = 'pending'
        """,
        (reason, user_id),
    )


async def with_status(db: Database, status: OutboxStatus, limit: int = 100) -> list[OutboxMessage]:
    rows = await db.fetchall(
        "SELECT * FROM outbox WHERE status = ? ORDER BY id DESC LIMIT ?", (status.value, limit)
    )
    return [_message(row) for row in rows]


async def count_by_status(db: Database) -> dict[OutboxStatus, int]:
    rows = await db.fetchall("SELECT status, count(*) AS n FROM outbox GROUP BY status")
    return {OutboxStatus(row["status"]): int(row["n"]) for row in rows}


async def pending_summary(db: Database) -> tuple[int, float | None]:
    """How many messages wait to be sent, and when the oldest of them was queued (None if
    none waits). Reads the pending rows only (the partial index), however many were sent."""
    row = await db.fetchone(
        "SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE status = 'pending'"
    )
    if row is None:
        return 0, None
    return int(row["n"]), row["oldest"]
