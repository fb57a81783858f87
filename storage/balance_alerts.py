"""Low-balance warnings: per panel account, the amount under which its people are told (once
per fall: not again until a read finds the balance back at or above it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from storage import outbox
from storage.db import Database, Row
from storage.outbox import Kind, Notification


@dataclass(frozen=True, slots=True)
class BalanceAlert:
    account: str
    below: Decimal
    warned: bool
    crossings: int
    read_at: float | None


def _alert(row: Row) -> BalanceAlert:
    return BalanceAlert(
        account=row["account"],
        below=Decimal(str(row["below"])),
        warned=bool(row["warned"]),
        crossings=row["crossings"],
        read_at=row["read_at"],
    )


async def get(db: Database, account: str) -> BalanceAlert | None:
    row = await db.fetchone("SELECT * FROM balance_alerts WHERE account = ?", (account,))
    return None if row is None else _alert(row)


async def set_below(db: Database, account: str, below: Decimal | None, set_by: int) -> None:
    """Warn under `below` from now on (the next read decides); None: no warning."""
    if below is None:
        await db.execute("DELETE FROM balance_alerts WHERE account = ?", (account,))
        return
    await db.execute(
        """
        INSERT INTO balance_alerts (account, below, set_by) VALUES (?1, ?2, ?3)
        ON CONFLICT (account) DO UPDATE SET below = ?2, set_by = ?3, warned = 0, read_at = NULL
        """,
        (account, str(below), set_by),
    )


async def unread_since(db: Database, before: float) -> list[str]:
    """Accounts with a warning whose balance nobody read since `before` (or ever)."""
    rows = await db.fetchall(
        "SELECT account FROM balance_alerts WHERE read_at IS NULL OR read_at < ? ORDER BY account",
        (before,),
    )
    return [row["account"] for row in rows]


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    chat_id: int
    admins: bool  # told as an admin of the team's account


async def observe(
    db: Database,
    account: str,
    amount: Decimal,
    read_at: float,
    recipients: Callable[[], Awaitable[Sequence[Recipient]]],
) -> bool:
    """A balance read of `account` at `read_at`. The first read under its warning's amount
    queues the warning for `recipients()` in the transaction that marks it told, so
    it is told once whichever replica read it; a read at or above the amount ends the fall.
    A read older than the last one applied changes nothing. True if this read warned."""
    alert = await get(db, account)
    if alert is None:
        return False
    falls = amount < alert.below
    # Asked before the transaction: a read on another connection while it holds SQLite's
    # write lock could wait behind a write that waits for that lock.
    told = await recipients() if falls and not alert.warned else []
    async with db.transaction() as tx:
        # One statement decides, against the amount and the state this read was judged by:
        # another replica's read in between makes it change nothing.
        turned = await tx.execute(
            "UPDATE balance_alerts SET read_at = ?, warned = ?, crossings = crossings + ? "
            "WHERE account = ? AND below = ? AND warned = ? AND (read_at IS NULL OR read_at <= ?)",
            (read_at, int(falls), int(falls), account, str(alert.below), int(not falls), read_at),
        )
        if not turned:  # as it was: only the time of the read, if it is the latest
            await tx.execute(
                "UPDATE balance_alerts SET read_at = ? WHERE account = ? "
                "AND (read_at IS NULL OR read_at < ?)",
                (read_at, account, read_at),
            )
            return False
        if not falls:
            return False
        queued = 0
        for recipient in told:
            payload = {
                "amount": str(amount),
                "below": str(alert.below),
                "admins": recipient.admins,
            }
            queued += await outbox.add_in(
                tx,
                Notification(
                    # The read's time: a warning turned off and on again starts a new count.
                    dedupe_key=f"low-balance:{account}:{read_at!r}:{recipient.user_id}",
                    user_id=recipient.user_id,
                    chat_id=recipient.chat_id,
                    kind=Kind.LOW_BALANCE,
                    payload=payload,
                ),
                read_at,
            )
        return queued > 0
