"""Retention on a real SQLite file: pruning deletes old sent notifications, old events of
finished orders and old or empty conversations, and nothing the bot still needs; what it
deletes can never be announced twice; the daily task logs each run and outlives a failure."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal

import pytest

from bot.config import Settings
from bot.pruning import Pruning, retention_policy
from storage import orders, outbox, retention, users
from storage.db import Database
from storage.orders import CheckResult, Order, OrderState
from storage.outbox import Kind, Notification, OutboxStatus
from storage.retention import DAY, Pruned, RetentionPolicy
from tests.conftest import BotFactory
from tests.flows import place_order
from tests.harness import BotHarness
from tests.helpers import FAST_NOTIFIER, FAST_TRACKING, eventually, finished

POLICY = RetentionPolicy(sent_notifications_days=30, order_events_days=180, conversations_days=90)
NOW = time.time() + 400 * DAY  # pruning "now": what the test writes is 400 days old by then
ANNA, ADMIN, BLOCKED = 1, 2, 3


def days_ago(days: float) -> float:
    return NOW - days * DAY


# -- writing rows as the bot does ----------------------------------------------------------


async def submit(db: Database, token: str, user_id: int = ANNA) -> Order:
    order, _ = await orders.start_submitting(
        db,
        token=token,
        user_id=user_id,
        chat_id=user_id,
        account="alice@example.com",
        service_id="389",
        service_name="Instagram Likes",
        params={"url": "https://instagram.com/p/x", "count": "1000"},
        quantity=1000,
        total=Decimal("0.50"),
    )
    return order


async def place(db: Database, token: str, user_id: int = ANNA) -> Order:
    """Submitted, then placed: the schema's trigger queues `order:<id>:order_placed`."""
    await submit(db, token, user_id)
    answered = await orders.mark_placed(
        db, token, panel_order_id=f"p-{token}", charged=Decimal("0.50"), next_check_at=1.0
    )
    return answered.order


def status_key(order: Order, state: OrderState, remain: int) -> str:
    """The key the tracker gives the message announcing `state` (bot/tracker.py)."""
    return f"order:{order.id}:{state.value}:{remain}"


async def check(db: Database, order: Order, state: OrderState, remain: int) -> bool:
    """What the tracker records when a check finds `state`: the order, an event, and the
    message announcing it. Whether the message was queued (False: announced before)."""
    result = CheckResult(
        state, "2", state.value, remain, next_check_at=None if state.is_final else 1.0
    )
    notification = Notification(
        dedupe_key=status_key(order, state, remain),
        user_id=order.user_id,
        chat_id=order.chat_id,
        kind=Kind.ORDER_STATUS,
        payload={"order": order.id, "state": state.value, "remain": remain},
    )
    queued = await orders.record_check(
        db, order.id, result, event=True, notifications=[notification]
    )
    return queued == 1


async def alert(db: Database, kind: Kind, since: float) -> str:
    """An admin's panel alert, keyed as bot/panel_watch.py keys it."""
    key = f"{kind}:{since}:{ADMIN}"
    await outbox.add(db, Notification(key, ADMIN, ADMIN, kind, {"since": since}))
    return key


async def converse(db: Database, chat_id: int, state: str | None, data: str, days: float) -> None:
    await db.execute(
        "INSERT INTO fsm (bot_id, chat_id, user_id, destiny, state, data, updated_at) "
        "VALUES (1, ?, ?, 'default', ?, ?, ?)",
        (chat_id, chat_id, state, data, days_ago(days)),
    )


async def send_everything(db: Database) -> None:
    """What the notifier does once Telegram accepted each pending message."""
    await db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = created_at WHERE status = 'pending'"
    )


async def keys(db: Database) -> set[str]:
    return {row[0] for row in await db.fetchall("SELECT dedupe_key FROM outbox")}


async def events(db: Database) -> set[tuple[int, str]]:
    rows = await db.fetchall("SELECT order_id, state FROM order_events")
    return {(row[0], row[1]) for row in rows}


async def chats(db: Database) -> set[int]:
    return {row[0] for row in await db.fetchall("SELECT chat_id FROM fsm")}


def placed_key(order: Order) -> str:
    return f"order:{order.id}:order_placed"


@dataclass(frozen=True)
class Seeded:
    done: Order  # completed
    open: Order  # in progress
    refused: Order  # rejected
    unsure: Order  # uncertain
    gone: Order  # not_placed
    blocked: Order  # completed, for someone who blocked the bot
    waiting: Order  # completed, its last message still pending
    stuck: Order  # completed, its last message parked
    kept_keys: set[str]
    gone_keys: set[str]
    kept_events: set[tuple[int, str]]


async def seed(db: Database) -> Seeded:
    """Rows of every kind, state and age (400 days old unless said otherwise)."""
    for user_id in (ANNA, ADMIN, BLOCKED):
        await users.touch(db, user_id, chat_id=user_id, first_name="x", telegram_language="en")
    done = await place(db, "done")
    await check(db, done, OrderState.IN_PROGRESS, 500)
    await check(db, done, OrderState.COMPLETED, 0)
    open_ = await place(db, "open")
    await check(db, open_, OrderState.IN_PROGRESS, 500)
    refused = (await orders.mark_rejected(db, (await submit(db, "refused")).token, "no")).order
    unsure = (await orders.mark_uncertain(db, (await submit(db, "unsure")).token, "?")).order
    await orders.mark_uncertain(db, (await submit(db, "gone")).token, "?")
    gone = await orders.settle_not_placed(db, ANNA, (await submit(db, "gone")).id)
    assert gone is not None
    blocked = await place(db, "blocked", BLOCKED)
    await send_everything(db)
    await users.set_active(db, BLOCKED, False)
    await check(db, blocked, OrderState.COMPLETED, 0)  # recorded as dropped
    waiting = await place(db, "waiting")
    stuck = await place(db, "stuck")
    old_down = await alert(db, Kind.PANEL_DOWN, 1000.0)
    old_up = await alert(db, Kind.PANEL_UP, 1000.0)
    recent_down = await alert(db, Kind.PANEL_DOWN, 5000.0)
    await outbox.add(db, Notification("newsletter:1", ANNA, ANNA, "newsletter", {}))
    await send_everything(db)  # the last: a kind pruning knows nothing about
    await check(db, waiting, OrderState.COMPLETED, 0)  # stays pending
    await check(db, stuck, OrderState.COMPLETED, 0)
    parked = await outbox.get(db, status_key(stuck, OrderState.COMPLETED, 0))
    assert parked is not None
    await outbox.park(db, parked.id, "kept failing")
    parked_down = await alert(db, Kind.PANEL_DOWN, 3000.0)
    parked_alert = await outbox.get(db, parked_down)
    assert parked_alert is not None
    await outbox.park(db, parked_alert.id, "kept failing")

    # Everything is 400 days old as of NOW but for these.
    await db.execute("UPDATE outbox SET created_at = ?, sent_at = ?", (days_ago(400),) * 2)
    await db.execute("UPDATE order_events SET created_at = ?", (days_ago(400),))
    done_completed = status_key(done, OrderState.COMPLETED, 0)
    await db.execute(  # created long ago, sent only 10 days ago (it was retried that long)
        "UPDATE outbox SET created_at = ?, sent_at = ? WHERE dedupe_key = ?",
        (days_ago(40), days_ago(10), done_completed),
    )
    await db.execute(
        "UPDATE outbox SET created_at = ?, sent_at = ? WHERE dedupe_key = ?",
        (days_ago(5), days_ago(5), recent_down),
    )
    await db.execute(
        "UPDATE order_events SET created_at = ? WHERE order_id = ? AND state = 'completed'",
        (days_ago(10), done.id),
    )

    await converse(db, 11, None, "{}", days=1)  # finished, yesterday
    await converse(db, 12, None, "{}", days=200)  # finished, long ago
    await converse(db, 13, "OrderWizard:entering", '{"service": "389"}', days=89)
    await converse(db, 14, "OrderWizard:entering", '{"service": "389"}', days=91)
    await converse(db, 15, "SearchWizard:query", "{}", days=10)
    await converse(db, 16, None, '{"email": "a@example.com"}', days=10)

    gone_keys = {
        placed_key(done),
        status_key(done, OrderState.IN_PROGRESS, 500),
        f"order:{refused.id}:order_rejected",
        f"order:{gone.id}:order_uncertain",
        placed_key(blocked),
        status_key(blocked, OrderState.COMPLETED, 0),  # dropped
        placed_key(waiting),
        placed_key(stuck),
        old_down,
        old_up,
    }
    kept_keys = {
        done_completed,  # sent 10 days ago
        placed_key(open_),  # the order is still open: its statuses may come back
        status_key(open_, OrderState.IN_PROGRESS, 500),
        f"order:{unsure.id}:order_uncertain",  # uncertain may yet become placed or not
        status_key(waiting, OrderState.COMPLETED, 0),  # pending
        status_key(stuck, OrderState.COMPLETED, 0),  # parked, for an admin
        recent_down,
        parked_down,
        "newsletter:1",
    }
    assert await keys(db) == kept_keys | gone_keys
    assert await outbox.count_by_status(db) == {
        OutboxStatus.SENT: 15,
        OutboxStatus.PENDING: 1,
        OutboxStatus.PARKED: 2,
        OutboxStatus.DROPPED: 1,
    }
    kept_events = {(done.id, "completed"), (open_.id, "in_progress")}
    return Seeded(
        done,
        open_,
        refused,
        unsure,
        gone,
        blocked,
        waiting,
        stuck,
        kept_keys,
        gone_keys,
        kept_events,
    )


# -- what goes, what stays -------------------------------------------------------------------


async def test_pruning_deletes_exactly_what_the_bot_can_no_longer_need(db: Database) -> None:
    seeded = await seed(db)
    orders_before = await orders.count_by_state(db)
    assert await events(db) == seeded.kept_events | {
        (seeded.done.id, "in_progress"),  # 400 days old, of a finished order
        (seeded.blocked.id, "completed"),
        (seeded.waiting.id, "completed"),
        (seeded.stuck.id, "completed"),
    }

    pruned = await retention.prune(db, POLICY, NOW, chunk=3)  # ranges smaller than the table

    assert pruned == Pruned(notifications=10, order_events=4, conversations=3)
    assert await keys(db) == seeded.kept_keys
    assert await events(db) == seeded.kept_events
    assert await chats(db) == {13, 15, 16}
    assert await orders.count_by_state(db) == orders_before  # orders are kept
    assert len(await db.fetchall("SELECT id FROM users")) == 3
    assert await retention.prune(db, POLICY, NOW) == Pruned()  # nothing more to do


async def test_what_was_pruned_can_never_be_queued_again_and_what_was_kept_still_guards(
    db: Database,
) -> None:
    seeded = await seed(db)
    await retention.prune(db, POLICY, NOW)
    remaining = await keys(db)

    # Every way an order's message is queued, tried on the finished orders: late answers to
    # `add` (the schema's trigger), the tracker (it checks only what is due), a start-up.
    for order in (seeded.done, seeded.refused, seeded.gone, seeded.blocked, seeded.waiting):
        placed = await orders.mark_placed(
            db, order.token, panel_order_id=f"p-{order.token}", charged=None, next_check_at=1.0
        )
        assert placed.order.state.is_final  # a final state is never left
        assert placed.message is None
        await orders.mark_rejected(db, order.token, "late")
        await orders.mark_uncertain(db, order.token, "late")
    due = await orders.due_for_check(db, NOW, limit=100)
    assert [order.id for order in due] == [seeded.open.id]  # no finished order is checked
    await outbox.release_claims(db, NOW)
    assert await keys(db) == remaining

    # The open order's kept message still stops a second announcement of its status, which
    # may come back (in progress, pending, in progress again)...
    assert not await check(db, seeded.open, OrderState.IN_PROGRESS, 500)
    # ...which is what deleting it would have let through.
    await db.execute(
        "DELETE FROM outbox WHERE dedupe_key = ?",
        (status_key(seeded.open, OrderState.IN_PROGRESS, 500),),
    )
    assert await check(db, seeded.open, OrderState.IN_PROGRESS, 500)


async def test_a_pruning_stopped_half_way_leaves_the_rest_for_the_next_time(
    db: Database,
) -> None:
    await users.touch(db, ADMIN, chat_id=ADMIN, first_name="x", telegram_language="en")
    for since in range(7):
        await alert(db, Kind.PANEL_DOWN, float(since))
    await send_everything(db)
    asked = 0

    def twice() -> bool:
        nonlocal asked
        asked += 1
        return asked <= 2

    first = await retention.prune(db, POLICY, NOW, keep_going=twice, chunk=2)
    assert first == Pruned(notifications=4, complete=False)
    assert len(await keys(db)) == 3
    assert await retention.prune(db, POLICY, NOW, chunk=2) == Pruned(notifications=3)
    assert await keys(db) == set()


# -- the daily task ------------------------------------------------------------------------


def test_the_ages_come_from_the_settings() -> None:
    settings = Settings(_env_file=None, keep_conversations_days=7, keep_order_events_days=365)
    assert retention_policy(settings) == RetentionPolicy(
        sent_notifications_days=30, order_events_days=365, conversations_days=7
    )


async def test_the_task_logs_each_pruning_in_one_line_and_outlives_a_failure(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.pruning")
    await converse(db, 11, None, "{}", days=1)
    await db.execute("ALTER TABLE order_events RENAME TO order_events_away")  # a failure
    pruning = Pruning(db, POLICY, first_after=0, every=0.05, clock=lambda: NOW)
    pruning.start()
    try:
        await eventually(lambda: any("pruning failed" in r.message for r in caplog.records))
        assert pruning.last is None
        assert await chats(db) == {11}
        await db.execute("ALTER TABLE order_events_away RENAME TO order_events")
        await eventually(lambda: pruning.last is not None)
        await eventually(lambda: len(done_lines(caplog)) >= 2)  # and again, every `every`
    finally:
        await pruning.stop()
    assert await chats(db) == set()
    first, *_ = done_lines(caplog)
    assert first.levelno == logging.INFO
    assert first.getMessage() == (
        "pruned 0 notifications (sent or dropped over 30 days ago), 0 events of finished "
        "orders (over 180 days old), 1 conversations (empty, or untouched for 90 days)"
    )
    failed = next(r for r in caplog.records if "pruning failed" in r.message)
    assert failed.exc_info is not None  # with what went wrong
    # SQLite: "no such table: order_events"; PostgreSQL: 'relation "order_events" does not exist'
    assert "order_events" in str(failed.exc_info[1])


def done_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("pruned ")]


async def test_the_first_pruning_waits_after_start_and_stop_ends_the_wait(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.pruning")
    await converse(db, 11, None, "{}", days=1)
    pruning = Pruning(db, POLICY, clock=lambda: NOW)  # the first in a minute
    pruning.start()
    await pruning.stop()  # returns at once, not after the minute
    assert pruning.last is None
    assert done_lines(caplog) == []
    assert await chats(db) == {11}


# -- beside the running bot ------------------------------------------------------------------


def live_db(bot: BotHarness) -> Database:
    assert bot.services is not None
    return bot.services.db


async def nothing_pending(db: Database) -> bool:
    return not await db.fetchall("SELECT id FROM outbox WHERE status = 'pending'")


async def test_pruning_beside_the_running_bot_never_repeats_a_message(
    make_bot: BotFactory,
) -> None:
    bot = make_bot(
        tracker=FAST_TRACKING,
        notifier=FAST_NOTIFIER,
        check_interval_seconds=FAST_TRACKING.base_interval,
    )
    anna = bot.user(501, "Anna")
    async with bot.running():
        db = live_db(bot)
        await place_order(anna)
        bot.panel.clock.advance(10_000)
        await eventually(lambda: finished(anna, "7000000") == 1)
        await place_order(anna)  # 7000001: placed, not started yet
        await eventually(lambda: nothing_pending(db))
        second, first = await orders.list_for_user(db, 501, limit=2)
        assert first.state.is_final
        assert not second.state.is_final
        told = [(m.message_id, m.text, m.edits) for m in anna.bot_messages]
        [open_card] = [m for m in anna.bot_messages if "📦 Order #7000001" in m.text]

        pruning = Pruning(db, retention_policy(bot.settings), first_after=0, clock=lambda: NOW)
        pruning.start()
        await eventually(lambda: pruning.last is not None)
        await pruning.stop()
        assert pruning.last is not None
        # The first order's placed, its card's last edit and its end.
        assert pruning.last.notifications >= 3
        assert pruning.last.order_events >= 1
        assert not [key for key in await keys(db) if key.startswith(f"order:{first.id}:")]
        assert placed_key(second) in await keys(db)  # still open: kept

    async with bot.running():  # a restart: whatever was held back is released and sent
        bot.panel.clock.advance(10_000)
        await eventually(lambda: finished(anna, "7000001") == 1)
        await eventually(lambda: nothing_pending(live_db(bot)))
    # What was told before stays as it was: only the open order's card moved, in place.
    before = [(m.message_id, m.text, m.edits) for m in anna.bot_messages[: len(told)]]
    assert [b for b in before if b[0] != open_card.message_id] == [
        t for t in told if t[0] != open_card.message_id
    ]
    assert [b[0] for b in before] == [t[0] for t in told]
    assert "📦 Order #7000001" in open_card.text
    new = [m.text for m in anna.bot_messages[len(told) :]]
    assert new  # the second order's end
    assert all("#7000001" in text for text in new), new
    assert not any("#7000000" in text for text in new), new
    assert finished(anna, "7000000") == 1
