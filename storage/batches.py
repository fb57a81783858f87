"""Batches: the orders one confirmation placed for several links (each line its own order,
with its own token `<batch>:<line>`), and whether their person hears of each order's end or
of the batch's once every order of it has ended."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

from storage import outbox
from storage.db import Database, Transaction
from storage.outbox import Kind, Notification

# States in which an order of a batch may still end: the batch waits for them. (An order
# whose fate is unknown is not waited for: its person settles it, and hears of it alone.)
_UNDERWAY = ("submitting", "placed", "pending", "in_progress")


@dataclass(frozen=True, slots=True)
class Batch:
    token: str
    user_id: int
    size: int
    summary: bool


async def start(db: Database, token: str, user_id: int, size: int, *, summary: bool) -> bool:
    """Record the batch before its first line is sent; False if it was recorded before."""
    added = await db.execute(
        "INSERT INTO batches (token, user_id, size, summary, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (token) DO NOTHING",
        (token, user_id, size, int(summary), time.time()),
    )
    return added == 1


async def get(db: Database, user_id: int, token: str) -> Batch | None:
    row = await db.fetchone(
        "SELECT * FROM batches WHERE token = ? AND user_id = ?", (token, user_id)
    )
    if row is None:
        return None
    return Batch(row["token"], row["user_id"], row["size"], bool(row["summary"]))


def ended_key(token: str) -> str:
    return f"batch:{token}:ended"


async def told_together(db: Database, token: str) -> bool:
    """Whether an order of this batch that ends now is told with the batch's end (one
    summary) rather than alone: the person asked for that, and it has not gone out yet."""
    row = await db.fetchone("SELECT summary FROM batches WHERE token = ?", (token,))
    if row is None or not row["summary"]:
        return False
    return await outbox.get(db, ended_key(token)) is None


async def end_if_done(tx: Transaction, token: str, now: float) -> bool:
    """In the transaction that recorded an order's end (or that it will not be placed): once
    no order of the batch is under way, queue the message that tells how they all ended
    (once: its key is the batch's). An order sent after that is told on its own."""
    # Taken first: two replicas recording the ends of two of its orders at once decide one
    # after the other (PostgreSQL locks the row; SQLite runs one write at a time anyway).
    await tx.execute("UPDATE batches SET size = size WHERE token = ?", (token,))
    found = await tx.fetchall(
        "SELECT b.user_id, b.summary, u.chat_id FROM batches AS b "
        "JOIN users AS u ON u.id = b.user_id WHERE b.token = ?",
        (token,),
    )
    if not found or not found[0]["summary"]:
        return False
    rows = await tx.fetchall(
        "SELECT panel_order_id, state, service_name FROM orders WHERE batch = ? ORDER BY id",
        (token,),
    )
    if not rows or any(row["state"] in _UNDERWAY for row in rows):
        return False
    ended = Counter(str(row["state"]) for row in rows)
    payload = {
        "service": rows[0]["service_name"],
        "ended": dict(sorted(ended.items())),
        "orders": [row["panel_order_id"] for row in rows if row["panel_order_id"]],
    }
    return await outbox.add_in(
        tx,
        Notification(
            dedupe_key=ended_key(token),
            user_id=found[0]["user_id"],
            chat_id=found[0]["chat_id"],
            kind=Kind.BATCH_ENDED,
            payload=payload,
        ),
        now,
    )


async def end_if_done_now(db: Database, token: str) -> bool:
    """`end_if_done` in a transaction of its own, after a change that ends a line without
    a check (refused, unknown, or not sent after all)."""
    async with db.transaction() as tx:
        return await end_if_done(tx, token, time.time())
