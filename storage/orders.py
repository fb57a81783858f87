"""Orders: placed at most once per confirmation token, then tracked until they end. Only the
owner ever sees an order: every lookup by id takes the user id too. The panel's answer and the
message telling it are written by one statement (the schema's `orders_answered` trigger).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from storage import batches, outbox
from storage.db import Database, Dialect, Row, Transaction
from storage.outbox import Kind, Notification, OutboxMessage, OutboxStatus


class OrderState(StrEnum):
    """`submitting` (written, durably, before `add` is sent) -> `placed` (the panel gave an
    id), `rejected` (it refused) or `uncertain` (no answer: it may or may not exist). Uncertain
    becomes `placed` when the answer turns up or the person finds it on the panel, or
    `not_placed` when they find it is not there. A placed order then follows the panel's
    status: pending, in_progress, then one of the final states (docs/ARCHITECTURE.md)."""

    SUBMITTING = "submitting"
    PLACED = "placed"
    REJECTED = "rejected"
    UNCERTAIN = "uncertain"
    NOT_PLACED = "not_placed"  # was uncertain; the person found it is not on the panel
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    PARTIAL = "partial"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    LOST = "lost"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


# The states a panel status code can stand for (`bot.statuses`, SMMLABA_STATUS_MAP).
PANEL_STATES = (
    OrderState.PENDING,
    OrderState.IN_PROGRESS,
    OrderState.COMPLETED,
    OrderState.PARTIAL,
    OrderState.CANCELLED,
    OrderState.REFUNDED,
)

_FINAL = frozenset(
    {
        OrderState.REJECTED,
        OrderState.NOT_PLACED,
        OrderState.COMPLETED,
        OrderState.PARTIAL,
        OrderState.CANCELLED,
        OrderState.REFUNDED,
        OrderState.LOST,
    }
)


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    token: str
    user_id: int
    chat_id: int
    account: str
    state: OrderState
    service_id: str
    service_name: str
    params: dict[str, str]
    quantity: int | None
    total: Decimal | None
    panel_order_id: str | None
    charged: Decimal | None
    error: str | None
    status_code: str | None
    status_text: str | None
    remain: int | None
    announced_remain: int | None
    muted: bool
    next_check_at: float | None
    quiet_checks: int
    failed_checks: int
    created_at: float
    card_message_id: int | None = None  # the chat message showing its live card
    placed_on_website: bool = False  # by the person, who asked the bot to track it
    batch: str | None = None  # the batch (several links at once) it is a line of


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What one `check` taught us about an order, and when to look again (None: never)."""

    state: OrderState
    status_code: str | None
    status_text: str | None
    remain: int | None
    next_check_at: float | None
    quiet_checks: int = 0
    failed_checks: int = 0
    announced: bool = False  # this check's progress was news: measure the next from here


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _order(row: Row) -> Order:
    return Order(
        id=row["id"],
        token=row["token"],
        user_id=row["user_id"],
        chat_id=row["chat_id"],
        account=row["account"],
        state=OrderState(row["state"]),
        service_id=row["service_id"],
        service_name=row["service_name"],
        params=json.loads(row["params"]),
        quantity=row["quantity"],
        total=_decimal(row["total"]),
        panel_order_id=row["panel_order_id"],
        charged=_decimal(row["charged"]),
        error=row["error"],
        status_code=row["status_code"],
        status_text=row["status_text"],
        remain=row["remain"],
        announced_remain=row["announced_remain"],
        muted=bool(row["muted"]),
        next_check_at=row["next_check_at"],
        quiet_checks=row["quiet_checks"],
        failed_checks=row["failed_checks"],
        created_at=row["created_at"],
        card_message_id=row["card_message_id"],
        placed_on_website=row["origin"] == "website",
        batch=row["batch"],
    )


async def start_submitting(
    db: Database,
    *,
    token: str,
    user_id: int,
    chat_id: int,
    account: str,
    service_id: str,
    service_name: str,
    params: dict[str, str],
    quantity: int | None,
    total: Decimal | None,
    card_message_id: int | None = None,
    batch: str | None = None,
) -> tuple[Order, bool]:
    """Write the order before `add` is sent (`batch`: the batch it is a line of). Returns
    (order, True) the first time a token is seen and (the existing order, False) on every
    later attempt: the caller must not send `add` again then."""
    now = time.time()
    # Durable: the panel may take the order the moment `add` leaves, and a power cut must not
    # forget that it was sent. One statement: it creates the row, or finds the token taken.
    rows = await db.fetchall_durable(
        """
        INSERT INTO orders (token, user_id, chat_id, account, state, service_id,
                            service_name, params, quantity, total, card_message_id,
                            batch, created_at, updated_at)
        VALUES (?, ?, ?, ?, 'submitting', ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (token) DO NOTHING
        RETURNING *
        """,
        (
            token,
            user_id,
            chat_id,
            account,
            service_id,
            service_name,
            json.dumps(params, ensure_ascii=False),
            quantity,
            _text(total),
            card_message_id,
            batch,
            now,
            now,
        ),
    )
    row = rows[0] if rows else None
    if row is not None:
        return _order(row), True
    existing = await db.fetchone("SELECT * FROM orders WHERE token = ?", (token,))
    if existing is None:  # deleted in between (`forget_unsent`)
        raise KeyError(f"no order with token {token!r}")
    return _order(existing), False


async def forget_unsent(db: Database, token: str) -> None:
    """The request for this row never left the process: as if Confirm had not been pressed."""
    rows = await db.fetchall(
        "DELETE FROM orders WHERE token = ? AND state = 'submitting' RETURNING batch", (token,)
    )
    for row in rows:
        if row["batch"] is not None:
            await batches.end_if_done_now(db, row["batch"])


_ANSWER_KINDS = {
    OrderState.PLACED: Kind.ORDER_PLACED,
    OrderState.REJECTED: Kind.ORDER_REJECTED,
    OrderState.UNCERTAIN: Kind.ORDER_UNCERTAIN,
}


def outcome_key(order_id: int, state: OrderState) -> str | None:
    """The outbox key of the message that told the panel's answer for an order in `state`
    (as the schema's `orders_answered` trigger writes it); None for a state no answer
    leads to."""
    kind = _ANSWER_KINDS.get(state)
    return None if kind is None else f"order:{order_id}:{kind}"


@dataclass(frozen=True, slots=True)
class Answered:
    """An order as the panel's answer left it, and the message telling that answer while it
    still waits to be sent (None once it went out, or if there is none)."""

    order: Order
    message: OutboxMessage | None


async def _answer(
    db: Database, token: str, sql_set: str, values: tuple[object, ...], *, states: str
) -> Answered:
    """Record the panel's answer, once: only a row in one of `states` changes. Asked again
    (a retried write that had in fact gone through), it finds the same order and message."""
    rows = await db.fetchall(
        f"UPDATE orders SET {sql_set}, updated_at = ? "  # noqa: S608 - fixed fragments
        f"WHERE token = ? AND state IN ({states}) RETURNING *",
        (*values, time.time(), token),
    )
    if not rows:
        rows = await db.fetchall("SELECT * FROM orders WHERE token = ?", (token,))
    if not rows:
        raise KeyError(f"no order with token {token!r}")
    order = _order(rows[0])
    if order.batch is not None and order.state in (OrderState.REJECTED, OrderState.UNCERTAIN):
        await batches.end_if_done_now(db, order.batch)  # it may have been the last under way
    return Answered(order, await unsent_answer(db, order))


async def unsent_answer(db: Database, order: Order) -> OutboxMessage | None:
    """The message telling the panel's answer about `order`, if it has not gone out yet."""
    key = outcome_key(order.id, order.state)
    message = None if key is None else await outbox.get(db, key)
    if message is None or message.status is not OutboxStatus.PENDING:
        return None
    return message


async def mark_placed(
    db: Database, token: str, *, panel_order_id: str, charged: Decimal | None, next_check_at: float
) -> Answered:
    """The panel gave an id. An order already called uncertain takes it too: the answer is the
    truth, however late."""
    return await _answer(
        db,
        token,
        "state = 'placed', panel_order_id = ?, charged = ?, next_check_at = ?, error = NULL",
        (panel_order_id, _text(charged), next_check_at),
        states="'submitting', 'uncertain'",
    )


async def mark_rejected(db: Database, token: str, error: str) -> Answered:
    """The panel refused; like an id, a late refusal settles an order called uncertain."""
    return await _answer(
        db, token, "state = 'rejected', error = ?", (error,), states="'submitting', 'uncertain'"
    )


async def mark_uncertain(db: Database, token: str, error: str) -> Answered:
    return await _answer(
        db, token, "state = 'uncertain', error = ?", (error,), states="'submitting'"
    )


async def stale_submitting(db: Database, created_before: float) -> list[Order]:
    """Rows still `submitting` whose request can no longer be answered."""
    rows = await db.fetchall(
        "SELECT * FROM orders WHERE state = 'submitting' AND created_at < ? ORDER BY id",
        (created_before,),
    )
    return [_order(row) for row in rows]


async def settle_placed(
    db: Database,
    user_id: int,
    order_id: int,
    *,
    panel_order_id: str,
    charged: Decimal | None,
    next_check_at: float,
) -> Answered | None:
    """The person found their uncertain order on the panel: track it from now on. None if it
    is not theirs, no longer uncertain, or that panel order is another order's already."""
    taken = await db.fetchone(
        """
        SELECT 1 FROM orders AS o JOIN orders AS mine ON mine.account = o.account
        WHERE mine.id = ? AND o.panel_order_id = ?
        """,
        (order_id, panel_order_id),
    )
    if taken is not None:
        return None
    rows = await db.fetchall(
        """
        UPDATE orders SET state = 'placed', panel_order_id = ?, charged = ?, next_check_at = ?,
                          error = NULL, updated_at = ?
        WHERE id = ? AND user_id = ? AND state = 'uncertain' RETURNING *
        """,
        (panel_order_id, _text(charged), next_check_at, time.time(), order_id, user_id),
    )
    if not rows:
        return None
    order = _order(rows[0])
    return Answered(order, await unsent_answer(db, order))


async def settle_not_placed(db: Database, user_id: int, order_id: int) -> Order | None:
    """The person found their uncertain order is not on the panel."""
    row = await db.fetchone(
        """
        UPDATE orders SET state = 'not_placed', updated_at = ?
        WHERE id = ? AND user_id = ? AND state = 'uncertain' RETURNING *
        """,
        (time.time(), order_id, user_id),
    )
    return None if row is None else _order(row)


async def find_by_panel_id(db: Database, account: str, panel_order_id: str) -> Order | None:
    row = await db.fetchone(
        "SELECT * FROM orders WHERE account = ? AND panel_order_id = ?", (account, panel_order_id)
    )
    return None if row is None else _order(row)


async def with_panel_id(db: Database, panel_order_id: str) -> list[Order]:
    """Every order the bot knows by this panel id, on any account, whoever's it is."""
    rows = await db.fetchall(
        "SELECT * FROM orders WHERE panel_order_id = ? ORDER BY id", (panel_order_id,)
    )
    return [_order(row) for row in rows]


async def add_placed_on_website(
    db: Database,
    *,
    user_id: int,
    chat_id: int,
    account: str,
    panel_order_id: str,
    service_id: str,
    service_name: str,
    params: dict[str, str],
    quantity: int | None,
    charged: Decimal | None,
    check: CheckResult,
) -> tuple[Order, bool]:
    """An order the person placed on the panel's website, tracked from now on as the bot's own
    are, as `check` found it. (The order, True) when added; (the order the bot already has
    with that id on that account, False) otherwise, whoever's it is: one row per panel
    order, however often or by whomever it is asked for."""
    existing = await find_by_panel_id(db, account, panel_order_id)
    if existing is not None:
        return existing, False
    now = time.time()
    # A second, simultaneous request for the same order adds nothing (its token, and the
    # account's panel id, are unique).
    rows = await db.fetchall(
        """
        INSERT INTO orders (token, user_id, chat_id, account, state, service_id, service_name,
                            params, quantity, panel_order_id, charged, status_code,
                            status_text, remain, announced_remain, next_check_at, origin,
                            created_at, updated_at)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15,
                'website', ?16, ?16)
        ON CONFLICT DO NOTHING
        RETURNING *
        """,
        (
            f"website:{account}:{panel_order_id}",
            user_id,
            chat_id,
            account,
            check.state.value,
            service_id,
            service_name,
            json.dumps(params, ensure_ascii=False),
            quantity,
            panel_order_id,
            _text(charged),
            check.status_code,
            check.status_text,
            check.remain,
            check.next_check_at,
            now,
        ),
    )
    if rows:
        return _order(rows[0]), True
    added = await find_by_panel_id(db, account, panel_order_id)
    if added is None:
        raise KeyError(f"no order {panel_order_id!r} on {account!r}")
    return added, False


async def recent_services(db: Database, user_id: int, limit: int) -> list[Order]:
    """The person's last order of each of the last `limit` services they ordered here (placed
    through the bot and taken by the panel: values worth offering again)."""
    rows = await db.fetchall(
        """
        SELECT * FROM orders AS o
        WHERE o.user_id = ?1 AND o.origin = 'bot' AND o.panel_order_id IS NOT NULL
          AND o.id = (SELECT max(p.id) FROM orders AS p
                      WHERE p.user_id = ?1 AND p.service_id = o.service_id
                        AND p.origin = 'bot' AND p.panel_order_id IS NOT NULL)
        ORDER BY o.id DESC LIMIT ?2
        """,
        (user_id, limit),
    )
    return [_order(row) for row in rows]


async def placed_since(db: Database, user_id: int, since: float) -> list[Order]:
    """The person's orders the panel took (placed here or tracked from the website) since
    `since`, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM orders WHERE user_id = ? AND created_at >= ? "
        "AND panel_order_id IS NOT NULL ORDER BY id",
        (user_id, since),
    )
    return [_order(row) for row in rows]


async def get_for_user(db: Database, user_id: int, order_id: int) -> Order | None:
    """The order, only if it belongs to `user_id`: forged ids find nothing."""
    row = await db.fetchone(
        "SELECT * FROM orders WHERE id = ? AND user_id = ?", (order_id, user_id)
    )
    return None if row is None else _order(row)


async def of_batch(db: Database, user_id: int, token: str) -> list[Order]:
    """The person's orders of one batch, in line order."""
    rows = await db.fetchall(
        "SELECT * FROM orders WHERE batch = ? AND user_id = ? ORDER BY id", (token, user_id)
    )
    return [_order(row) for row in rows]


async def get_by_token(db: Database, user_id: int, token: str) -> Order | None:
    row = await db.fetchone(
        "SELECT * FROM orders WHERE token = ? AND user_id = ?", (token, user_id)
    )
    return None if row is None else _order(row)


async def list_for_user(db: Database, user_id: int, *, limit: int, offset: int = 0) -> list[Order]:
    """The user's orders, newest first, whatever their state."""
    rows = await db.fetchall(
        "SELECT * FROM orders WHERE user_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        (user_id, limit, offset),
    )
    return [_order(row) for row in rows]


async def count_for_user(db: Database, user_id: int) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM orders WHERE user_id = ?", (user_id,))
    return 0 if row is None else int(row[0])


async def count_tracked(db: Database) -> int:
    row = await db.fetchone("SELECT COUNT(*) FROM orders WHERE next_check_at IS NOT NULL")
    return 0 if row is None else int(row[0])


async def due_for_check(db: Database, now: float, limit: int) -> list[Order]:
    """Tracked orders whose check time has come and that nobody has taken, the
    longest-waiting first."""
    rows = await db.fetchall(
        """
        SELECT * FROM orders
        WHERE next_check_at IS NOT NULL AND next_check_at <= ?1
          AND (lease_until IS NULL OR lease_until <= ?1)
        ORDER BY next_check_at LIMIT ?2
        """,
        (now, limit),
    )
    return [_order(row) for row in rows]


# Which orders a claim takes. PostgreSQL passes over rows another replica is claiming at the
# same moment (it would wait for them, then find them taken); SQLite runs one write at a time.
_DUE = """
SELECT id FROM orders
WHERE next_check_at IS NOT NULL AND next_check_at <= ?1
  AND (lease_until IS NULL OR lease_until <= ?1)
ORDER BY next_check_at LIMIT ?2
"""
_CLAIM_DUE = {
    dialect: f"UPDATE orders SET lease_until = ?3 WHERE id IN ({_DUE}{lock}) RETURNING *"  # noqa: S608
    for dialect, lock in ((Dialect.SQLITE, ""), (Dialect.POSTGRES, "FOR UPDATE SKIP LOCKED"))
}


async def claim_due(db: Database, now: float, limit: int, lease_until: float) -> list[Order]:
    """Take up to `limit` due orders to check, until `lease_until`: no other replica takes
    them meanwhile. Recording the check ends the lease (`record_check`), as `unclaim` does."""
    rows = await db.fetchall(_CLAIM_DUE[db.dialect], (now, limit, lease_until))
    return sorted((_order(row) for row in rows), key=lambda order: order.next_check_at or 0)


async def unclaim(db: Database, order_id: int) -> None:
    """The order was taken but not checked: due again at once, for any replica."""
    await db.execute("UPDATE orders SET lease_until = NULL WHERE id = ?", (order_id,))


async def release_leases(db: Database) -> int:
    """At the start of the only replica: whatever a stopped one had taken is due again."""
    return await db.execute("UPDATE orders SET lease_until = NULL WHERE lease_until IS NOT NULL")


@dataclass(frozen=True, slots=True)
class Check:
    """One check's result to store: with `event`, an `order_events` row and `notifications`."""

    order_id: int
    result: CheckResult
    event: bool
    notifications: Sequence[Notification] = ()


async def _batches_of(tx: Transaction, order_ids: Sequence[int]) -> list[str]:
    """The batches (several links at once) these orders are lines of."""
    if not order_ids:
        return []
    marks = ", ".join("?" * len(order_ids))
    rows = await tx.fetchall(
        f"SELECT DISTINCT batch FROM orders WHERE batch IS NOT NULL AND id IN ({marks})",  # noqa: S608 - placeholders only
        tuple(order_ids),
    )
    return sorted(row["batch"] for row in rows)


_RECORD = """
UPDATE orders SET state = ?, status_code = ?, status_text = ?, remain = ?,
                  announced_remain = CASE WHEN ? THEN ? ELSE announced_remain END,
                  next_check_at = ?, quiet_checks = ?, failed_checks = ?,
                  updated_at = ?, lease_until = NULL
WHERE id = ?
"""
_RECORD_EVENT = """
INSERT INTO order_events (order_id, state, status_code, status_text, remain, created_at)
VALUES (?, ?, ?, ?, ?, ?)
"""


async def record_checks(db: Database, checks: Sequence[Check]) -> list[int]:
    """Store what checks found, all in one transaction: either all are written or none; an
    order that ended may end its batch (`batches.end_if_done`), whoever recorded it (the
    tracker, or the person's own Refresh). Returns how many notifications each check queued
    (a dedupe key seen before is not queued again)."""
    now = time.time()
    updates = [
        (
            c.result.state.value,
            c.result.status_code,
            c.result.status_text,
            c.result.remain,
            c.result.announced,
            c.result.remain,
            c.result.next_check_at,
            c.result.quiet_checks,
            c.result.failed_checks,
            now,
            c.order_id,
        )
        for c in checks
    ]
    events = [
        (
            c.order_id,
            c.result.state.value,
            c.result.status_code,
            c.result.status_text,
            c.result.remain,
            now,
        )
        for c in checks
        if c.event
    ]
    async with db.transaction() as tx:
        await tx.executemany(_RECORD, updates)
        if events:
            await tx.executemany(_RECORD_EVENT, events)
        queued = []
        for check in checks:
            added = 0
            for notification in check.notifications:
                added += await outbox.add_in(tx, notification, now)
            queued.append(added)
        ended = [c.order_id for c in checks if c.result.state.is_final]
        for token in await _batches_of(tx, ended):
            await batches.end_if_done(tx, token, now)
        return queued


async def record_check(
    db: Database,
    order_id: int,
    result: CheckResult,
    *,
    event: bool,
    notifications: Sequence[Notification] = (),
) -> int:
    """Store what one check found (`record_checks`); how many notifications it queued."""
    [queued] = await record_checks(db, [Check(order_id, result, event, notifications)])
    return queued


async def set_card(db: Database, order_id: int, message_id: int) -> None:
    """The order's live card is now this message (the first was not there to edit)."""
    await db.execute(
        "UPDATE orders SET card_message_id = ?, updated_at = ? WHERE id = ?",
        (message_id, time.time(), order_id),
    )


async def get(db: Database, order_id: int) -> Order | None:
    row = await db.fetchone("SELECT * FROM orders WHERE id = ?", (order_id,))
    return None if row is None else _order(row)


async def set_muted(db: Database, user_id: int, order_id: int, muted: bool) -> bool:
    """Mute or unmute one of the user's orders; False if it is not theirs."""
    changed = await db.execute(
        "UPDATE orders SET muted = ?, updated_at = ? WHERE id = ? AND user_id = ?",
        (int(muted), time.time(), order_id, user_id),
    )
    return changed == 1


async def count_by_state(db: Database) -> dict[OrderState, int]:
    rows = await db.fetchall("SELECT state, count(*) AS n FROM orders GROUP BY state")
    return {OrderState(row["state"]): int(row["n"]) for row in rows}
