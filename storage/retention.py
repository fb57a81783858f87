"""What may be deleted, and deleting it: old sent notifications, old order events and old or
empty conversations, never anything the bot still needs. Orders themselves are kept.

An outbox row is also the proof that its event was announced: its `dedupe_key` is UNIQUE,
and a second announcement of the same event is refused by it. So a sent row goes only once
its event can never be queued again:

- an order's messages (`order:<id>:...`, from the tracker and the schema's
  `orders_answered` trigger), once the order is in a final state: final states are never
  left, the tracker no longer checks the order, and the trigger fires only on leaving
  `submitting` or `uncertain`. The rows of an order still open are kept at any age: its
  status may come back to one already announced;
- the admins' panel alerts (`panel_down:<since>:<admin>`, `panel_up:...`): `since` is the
  start of an outage, a time that does not come again.

Pending and parked rows are never deleted, nor rows of any other kind. Order events go once
old, for finished orders only. A conversation row that holds nothing (no state, no data) is
what a missing row reads as, so it goes at any age; one left half-way (a wizard, /connect) goes
once untouched that long. The bot's memory of recent conversations (`storage.fsm`) is not
pruned: a person still in it resumes, and saving writes the row again; after a restart an
old Confirm finds no conversation and is answered as expired, placing nothing.

Rows are deleted by ranges of ids, each range one short statement, so the bot's own writes
never wait long behind a large first pruning.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass

from storage.db import Database, Dialect
from storage.orders import OrderState
from storage.outbox import Kind

DAY = 86_400.0
CHUNK = 2_000  # ids per statement
# As a JSON list, so the statements take it as a parameter.
FINAL_STATES = json.dumps(sorted(state.value for state in OrderState if state.is_final))
ALERT_KINDS = json.dumps([Kind.PANEL_DOWN.value, Kind.PANEL_UP.value])


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long each kind of row is kept, in days."""

    sent_notifications_days: float = 30.0
    order_events_days: float = 180.0
    conversations_days: float = 90.0


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows one pruning deleted."""

    notifications: int = 0
    order_events: int = 0
    conversations: int = 0
    complete: bool = True  # False: stopped half-way, the rest left for the next time

    @property
    def total(self) -> int:
        return self.notifications + self.order_events + self.conversations


# Parameters: ?1, ?2 the range of ids (low excluded), ?3 the cut-off time, ?4 the final
# states, ?5 the kinds of the admins' alerts (both JSON lists).
_NOTIFICATIONS = {
    Dialect.SQLITE: """
DELETE FROM outbox
WHERE id > ?1 AND id <= ?2
  AND status IN ('sent', 'dropped')
  AND COALESCE(sent_at, created_at) < ?3
  AND (
      kind IN (SELECT value FROM json_each(?5))
      OR (
          dedupe_key GLOB 'order:[0-9]*:*'
          AND EXISTS (
              SELECT 1 FROM orders AS o
              WHERE o.id = CAST(substr(outbox.dedupe_key, 7,
                                       instr(substr(outbox.dedupe_key, 7), ':') - 1) AS INTEGER)
                AND substr(outbox.dedupe_key, 1, length('order:' || o.id || ':'))
                    = 'order:' || o.id || ':'
                AND o.state IN (SELECT value FROM json_each(?4))
          )
      )
  )
""",
    Dialect.POSTGRES: """
DELETE FROM outbox
WHERE id > ?1 AND id <= ?2
  AND status IN ('sent', 'dropped')
  AND COALESCE(sent_at, created_at) < ?3
  AND (
      kind IN (SELECT jsonb_array_elements_text(?5::jsonb))
      OR (
          dedupe_key ~ '^order:[0-9]{1,18}:'
          AND EXISTS (
              SELECT 1 FROM orders AS o
              WHERE o.id = split_part(outbox.dedupe_key, ':', 2)::bigint
                AND o.state IN (SELECT jsonb_array_elements_text(?4::jsonb))
          )
      )
  )
""",
}

_ORDER_EVENTS = {
    Dialect.SQLITE: """
DELETE FROM order_events
WHERE id > ?1 AND id <= ?2
  AND created_at < ?3
  AND EXISTS (
      SELECT 1 FROM orders AS o
      WHERE o.id = order_events.order_id AND o.state IN (SELECT value FROM json_each(?4))
  )
""",
    Dialect.POSTGRES: """
DELETE FROM order_events
WHERE id > ?1 AND id <= ?2
  AND created_at < ?3
  AND EXISTS (
      SELECT 1 FROM orders AS o
      WHERE o.id = order_events.order_id
        AND o.state IN (SELECT jsonb_array_elements_text(?4::jsonb))
  )
""",
}

_CONVERSATIONS = """
DELETE FROM fsm WHERE (state IS NULL AND data = '{}') OR updated_at < ?
"""


async def prune(
    db: Database,
    policy: RetentionPolicy,
    now: float,
    *,
    keep_going: Callable[[], bool] = lambda: True,
    chunk: int = CHUNK,
) -> Pruned:
    """Delete what `policy` lets go as of `now`. `keep_going` is asked between statements:
    stopping half-way leaves a consistent database, and the rest for the next time."""
    notifications = await _by_ranges(
        db,
        "outbox",
        _NOTIFICATIONS[db.dialect],
        (now - policy.sent_notifications_days * DAY, FINAL_STATES, ALERT_KINDS),
        keep_going,
        chunk,
    )
    events = await _by_ranges(
        db,
        "order_events",
        _ORDER_EVENTS[db.dialect],
        (now - policy.order_events_days * DAY, FINAL_STATES),
        keep_going,
        chunk,
    )
    if not keep_going():
        return Pruned(notifications, events, 0, complete=False)
    conversations = await db.execute(_CONVERSATIONS, (now - policy.conversations_days * DAY,))
    return Pruned(notifications, events, conversations)


async def _by_ranges(
    db: Database,
    table: str,
    sql: str,
    parameters: tuple[object, ...],
    keep_going: Callable[[], bool],
    chunk: int,
) -> int:
    """Run `sql` over `table`'s ids in ranges of `chunk` (the range first, then
    `parameters`); the number of rows deleted."""
    row = await db.fetchone(f"SELECT min(id), max(id) FROM {table}")  # noqa: S608 - fixed names
    if row is None or row[0] is None:
        return 0
    low, last = int(row[0]) - 1, int(row[1])
    deleted = 0
    while low < last and keep_going():
        deleted += await db.execute(sql, (low, low + chunk, *parameters))
        low += chunk
        await asyncio.sleep(0)  # on SQLite a statement may not yield: let updates in between
    return deleted
