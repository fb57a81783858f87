"""Storage on a real SQLite file: migrations, repositories, and all-or-nothing transactions."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from storage import catalog, orders, outbox, users
from storage import sqlite as sqlite_module
from storage.db import Database, DatabaseTooNew, Dialect, Row
from storage.orders import CheckResult, OrderState
from storage.outbox import Notification, OutboxStatus
from storage.schema import MIGRATIONS
from storage.sqlite import SQLiteDatabase
from storage.users import NotifyMode
from tests.helpers import eventually


async def order_events(db: Database, order_id: int) -> list[Row]:
    return await db.fetchall("SELECT * FROM order_events WHERE order_id = ?", (order_id,))


async def schema_of(db: Database) -> list[tuple[str, str]]:
    rows = await db.fetchall(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name"
    )
    return [(row["name"], " ".join(row["sql"].split())) for row in rows]


async def add_user(db: Database, user_id: int = 1) -> None:
    await users.touch(db, user_id, chat_id=user_id, first_name="Anna", telegram_language="ru")


async def submit(db: Database, token: str = "t1", user_id: int = 1) -> orders.Order:
    order, _ = await orders.start_submitting(
        db,
        token=token,
        user_id=user_id,
        chat_id=user_id,
        account="alice@example.com",
        service_id="389",
        service_name="Instagram Likes",
        params={"url": "https://instagram.com/p/x?a=1&b=2", "count": "250"},
        quantity=250,
        total=Decimal("0.125"),
    )
    return order


# -- the file and its schema -------------------------------------------------------------


async def test_a_new_file_is_created_in_wal_mode_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bot.sqlite3"
    async with await Database.open(path) as db:
        assert await db.version() == len(MIGRATIONS)
        row = await db.fetchone("PRAGMA journal_mode")
        assert row is not None
        assert row[0] == "wal"
        row = await db.fetchone("PRAGMA foreign_keys")
        assert row is not None
        assert row[0] == 1
    assert path.exists()


@pytest.mark.parametrize("version", range(len(MIGRATIONS)))
async def test_every_older_version_migrates_to_the_latest_schema(
    tmp_path: Path, version: int
) -> None:
    async with await Database.open(tmp_path / "fresh.sqlite3") as fresh:
        expected = await schema_of(fresh)

    old_path = tmp_path / f"v{version}.sqlite3"
    async with await Database.open(old_path, migrate_to=version) as old:
        assert await old.version() == version
    async with await Database.open(old_path) as migrated:
        assert await migrated.version() == len(MIGRATIONS)
        assert await schema_of(migrated) == expected


async def test_reopening_keeps_the_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Database.open(path) as db:
        await add_user(db)
        await submit(db)
    async with await Database.open(path) as db:
        assert await db.version() == len(MIGRATIONS)
        assert await orders.count_for_user(db, 1) == 1


async def test_a_file_from_a_newer_bot_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(DatabaseTooNew, match="schema version"):
        await Database.open(path)


async def test_a_failed_transaction_leaves_nothing_behind(db: Database) -> None:
    await add_user(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("UPDATE users SET first_name = 'Changed' WHERE id = 1")
            raise RuntimeError("boom")
    user = await users.get(db, 1)
    assert user is not None
    assert user.first_name == "Anna"


async def test_a_transaction_cut_off_while_it_waits_for_the_lock_leaves_none_open(
    sqlite_db: SQLiteDatabase,
) -> None:
    db = sqlite_db
    await add_user(db)
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock

    async def rename() -> None:
        async with db.transaction() as tx:
            await tx.execute("UPDATE users SET first_name = 'Changed' WHERE id = 1")

    # The other writer lets go after the wait was given up, while the BEGIN is still queued:
    # it then succeeds, and must be undone.
    asyncio.get_running_loop().call_later(0.5, other.execute, "ROLLBACK")
    try:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(rename(), 0.1)
    finally:
        other.close()
    async with db.transaction() as tx:  # before the fix: "cannot start a transaction within"
        await tx.execute("UPDATE users SET first_name = 'Later' WHERE id = 1")
    user = await users.get(db, 1)
    assert user is not None
    assert user.first_name == "Later"


async def test_a_cancelled_transaction_is_rolled_back(db: Database) -> None:
    await add_user(db)
    entered = asyncio.Event()

    async def slow_change() -> None:
        async with db.transaction() as tx:
            await tx.execute("UPDATE users SET first_name = 'Half' WHERE id = 1")
            entered.set()
            await asyncio.sleep(60)

    task = asyncio.create_task(slow_change())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    user = await users.get(db, 1)
    assert user is not None
    assert user.first_name == "Anna"


async def test_a_single_write_during_a_transaction_waits_for_it_then_runs(
    sqlite_db: SQLiteDatabase,
) -> None:
    db = sqlite_db
    await add_user(db)
    async with db.transaction() as tx:
        await tx.execute("UPDATE users SET first_name = 'Inside' WHERE id = 1")
        rename = asyncio.create_task(
            db.execute("UPDATE users SET first_name = 'After' WHERE id = 1")
        )
        seen = await db.fetchone("SELECT first_name FROM users WHERE id = 1")
        for _ in range(5):
            await asyncio.sleep(0)
        assert not rename.done()  # SQLite's write lock is the transaction's: no "locked"
        assert seen is not None
        assert seen["first_name"] == "Anna"  # a read does not wait, and sees what is committed
    assert await rename == 1
    user = await users.get(db, 1)
    assert user is not None
    assert user.first_name == "After"


async def test_a_single_write_waits_for_another_process_without_holding_up_the_bot(
    sqlite_db: SQLiteDatabase,
) -> None:
    db = sqlite_db
    await add_user(db)
    other = sqlite3.connect(db.path, isolation_level=None)  # a CLI command, say
    other.execute("BEGIN IMMEDIATE")
    try:
        rename = asyncio.create_task(
            db.execute("UPDATE users SET first_name = 'After' WHERE id = 1")
        )
        await asyncio.sleep(0.2)  # the event loop runs meanwhile
        assert not rename.done()
        other.execute("COMMIT")
        assert await rename == 1
    finally:
        other.close()
    user = await users.get(db, 1)
    assert user is not None
    assert user.first_name == "After"


COUNT_TO_A_MILLION = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) "
    "SELECT count(*) FROM n"
)


async def test_a_long_statement_leaves_the_event_loop_free_meanwhile(
    sqlite_db: SQLiteDatabase,
) -> None:
    db = sqlite_db
    long = asyncio.create_task(db.fetchone(COUNT_TO_A_MILLION))
    short = asyncio.create_task(db.fetchone("SELECT 1"))
    seen_done = []

    async def beside() -> None:
        seen_done.append(long.done())

    await asyncio.gather(long, short, beside())
    assert seen_done == [False]  # the long one was not run through on the loop's thread
    assert short.done()
    row = long.result()
    assert row is not None
    assert row[0] == 1_000_000


async def test_a_long_write_stopped_on_the_loops_thread_is_applied_once(
    sqlite_db: SQLiteDatabase,
) -> None:
    db = sqlite_db
    await db.execute("CREATE TABLE counters (n INTEGER NOT NULL)")
    inserted = await db.execute(
        "INSERT INTO counters (n) WITH RECURSIVE k(i) AS "
        "(SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 50000) SELECT 0 FROM k"
    )
    changed = await db.fetchall("UPDATE counters SET n = n + 1 RETURNING n")
    assert (inserted, len(changed)) == (50_000, 50_000)
    totals = await db.fetchone("SELECT count(*), sum(n), min(n) FROM counters")
    assert totals is not None
    assert (totals[0], totals[1], totals[2]) == (50_000, 50_000, 1)


async def test_a_single_statement_inside_its_own_tasks_transaction_fails_at_once(
    sqlite_db: SQLiteDatabase,
) -> None:
    db = sqlite_db
    await add_user(db)
    with pytest.raises(RuntimeError, match="inside the same task's transaction"):
        async with db.transaction() as tx:
            await tx.execute("UPDATE users SET first_name = 'Inside' WHERE id = 1")
            await db.execute("UPDATE users SET first_name = 'Outside' WHERE id = 1")
    user = await users.get(db, 1)
    assert user is not None
    assert user.first_name == "Anna"


# -- users -------------------------------------------------------------------------------


async def test_touch_creates_then_refreshes_and_reactivates(db: Database) -> None:
    created = await users.touch(db, 42, chat_id=42, first_name="Anna", telegram_language="ru")
    assert (created.is_active, created.notify, created.language) == (True, NotifyMode.FINAL, None)
    await users.set_active(db, 42, False)
    again = await users.touch(db, 42, chat_id=42, first_name="Анна", telegram_language="en")
    assert again.first_name == "Анна"
    assert again.telegram_language == "en"
    assert again.is_active


async def test_user_settings_are_stored(db: Database) -> None:
    await add_user(db, 7)
    await users.set_language(db, 7, "en")
    await users.set_notify(db, 7, NotifyMode.ALL)
    await users.set_panel_account(db, 7, "me@example.com", b"encrypted-bytes")
    user = await users.get(db, 7)
    assert user is not None
    assert (user.language, user.notify, user.panel_username) == (
        "en",
        NotifyMode.ALL,
        "me@example.com",
    )
    assert user.panel_apikey == b"encrypted-bytes"
    assert "encrypted-bytes" not in repr(user)
    assert await users.get(db, 8) is None


# -- orders ------------------------------------------------------------------------------


async def test_a_token_is_placed_at_most_once(db: Database) -> None:
    await add_user(db)

    async def tap() -> tuple[orders.Order, bool]:
        return await orders.start_submitting(
            db,
            token="tap-1",
            user_id=1,
            chat_id=1,
            account="a",
            service_id="389",
            service_name="Likes",
            params={"count": "100"},
            quantity=100,
            total=Decimal("0.05"),
        )

    first, created = await tap()
    assert created
    assert first.state is OrderState.SUBMITTING

    results = await asyncio.gather(*(tap() for _ in range(10)))
    assert not any(created for _, created in results)
    assert {order.id for order, _ in results} == {first.id}
    assert await orders.count_for_user(db, 1) == 1


async def test_placement_outcomes_are_final(db: Database) -> None:
    await add_user(db)
    await submit(db, "a")
    await submit(db, "b")
    await submit(db, "c")

    placed = (
        await orders.mark_placed(
            db, "a", panel_order_id="7000001", charged=Decimal("0.1250"), next_check_at=100.0
        )
    ).order
    assert placed.state is OrderState.PLACED
    assert placed.panel_order_id == "7000001"
    assert placed.charged == Decimal("0.1250")
    assert placed.total == Decimal("0.125")
    assert placed.params["url"] == "https://instagram.com/p/x?a=1&b=2"

    rejected = (await orders.mark_rejected(db, "b", "Недостаточно средств на балансе")).order
    assert (rejected.state, rejected.error) == (
        OrderState.REJECTED,
        "Недостаточно средств на балансе",
    )
    assert rejected.next_check_at is None

    uncertain = (await orders.mark_uncertain(db, "c", "timed out")).order
    assert uncertain.state is OrderState.UNCERTAIN
    assert uncertain.next_check_at is None

    # A late second outcome for the same token changes nothing.
    again = (await orders.mark_rejected(db, "a", "too late")).order
    assert again.state is OrderState.PLACED
    assert again.error is None
    assert await orders.count_tracked(db) == 1


async def test_an_order_is_only_found_by_its_owner(db: Database) -> None:
    await add_user(db, 1)
    await add_user(db, 2)
    mine = await submit(db, "mine", user_id=1)
    assert await orders.get_for_user(db, 1, mine.id) is not None
    assert await orders.get_for_user(db, 2, mine.id) is None
    assert not await orders.set_muted(db, 2, mine.id, True)
    assert await orders.set_muted(db, 1, mine.id, True)
    order = await orders.get_for_user(db, 1, mine.id)
    assert order is not None
    assert order.muted


async def test_orders_list_newest_first_in_pages(db: Database) -> None:
    await add_user(db)
    for index in range(5):
        await submit(db, f"t{index}")
    page = await orders.list_for_user(db, 1, limit=2, offset=2)
    assert [o.token for o in page] == ["t2", "t1"]
    assert await orders.count_for_user(db, 1) == 5


async def test_due_orders_come_longest_waiting_first(db: Database) -> None:
    await add_user(db)
    for token, when in [("late", 300.0), ("early", 100.0), ("middle", 200.0)]:
        await submit(db, token)
        await orders.mark_placed(db, token, panel_order_id=token, charged=None, next_check_at=when)
    due = await orders.due_for_check(db, now=250.0, limit=10)
    assert [o.token for o in due] == ["early", "middle"]
    assert [o.token for o in await orders.due_for_check(db, now=1000.0, limit=1)] == ["early"]


def progress(next_check_at: float | None = 500.0) -> CheckResult:
    return CheckResult(
        state=OrderState.IN_PROGRESS,
        status_code="2",
        status_text="В обработке",
        remain=100,
        next_check_at=next_check_at,
    )


def note(key: str, user_id: int = 1) -> Notification:
    return Notification(
        dedupe_key=key, user_id=user_id, chat_id=user_id, kind="order_status", payload={"n": 1}
    )


async def test_a_change_writes_order_event_and_outbox_together(db: Database) -> None:
    await add_user(db)
    order = await submit(db)
    queued = await orders.record_check(
        db, order.id, progress(), event=True, notifications=[note("e1")]
    )
    assert queued == 1
    stored = await orders.get_for_user(db, 1, order.id)
    assert stored is not None
    assert (stored.state, stored.remain, stored.status_text) == (
        OrderState.IN_PROGRESS,
        100,
        "В обработке",
    )
    assert len(await order_events(db, order.id)) == 1
    assert [m.dedupe_key for m in await outbox.due(db, now=10**10)] == ["e1"]


async def test_a_failed_outbox_write_undoes_the_order_change(db: Database) -> None:
    await add_user(db)
    order = await submit(db)
    with pytest.raises((sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)):
        # user 999 does not exist: the outbox row violates its foreign key.
        await orders.record_check(
            db, order.id, progress(), event=True, notifications=[note("e1", user_id=999)]
        )
    stored = await orders.get_for_user(db, 1, order.id)
    assert stored is not None
    assert stored.state is OrderState.SUBMITTING
    assert await order_events(db, order.id) == []
    assert await outbox.due(db, now=10**10) == []


async def test_an_event_is_queued_once_even_if_recorded_twice(db: Database) -> None:
    await add_user(db)
    order = await submit(db)
    assert (
        await orders.record_check(db, order.id, progress(), event=True, notifications=[note("k")])
        == 1
    )
    assert (
        await orders.record_check(db, order.id, progress(), event=True, notifications=[note("k")])
        == 0
    )
    # A card's edit and a message of its own: only the one not seen before is queued.
    assert (
        await orders.record_check(
            db, order.id, progress(), event=True, notifications=[note("k"), note("k2")]
        )
        == 1
    )
    rows = await db.fetchall("SELECT dedupe_key FROM outbox ORDER BY id")
    assert [row[0] for row in rows] == ["k", "k2"]


async def test_checks_of_several_orders_are_stored_together_or_not_at_all(db: Database) -> None:
    await add_user(db)
    quiet, changed, broken = [await submit(db, token=f"t{n}") for n in range(3)]
    queued = await orders.record_checks(
        db,
        [
            orders.Check(quiet.id, progress(900.0), event=False),
            orders.Check(changed.id, progress(), event=True, notifications=[note("a"), note("b")]),
        ],
    )
    assert queued == [0, 2]
    stored = {o.id: o for o in [await orders.get(db, o.id) for o in (quiet, changed)] if o}
    assert (stored[quiet.id].next_check_at, stored[changed.id].next_check_at) == (900.0, 500.0)
    assert [len(await order_events(db, o.id)) for o in (quiet, changed)] == [0, 1]

    # One bad row (an unknown person's notification) and none of the batch is written.
    with pytest.raises((sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)):
        await orders.record_checks(
            db,
            [
                orders.Check(quiet.id, progress(1.0), event=True),
                orders.Check(broken.id, progress(), event=True, notifications=[note("c", 999)]),
            ],
        )
    again = await orders.get(db, quiet.id)
    assert again is not None
    assert again.next_check_at == 900.0
    assert [len(await order_events(db, o.id)) for o in (quiet, broken)] == [0, 0]


async def test_a_quiet_check_writes_no_event(db: Database) -> None:
    await add_user(db)
    order = await submit(db)
    await orders.record_check(db, order.id, progress(None), event=False)
    assert await order_events(db, order.id) == []
    assert await orders.count_tracked(db) == 0


# -- outbox ------------------------------------------------------------------------------


async def test_outbox_lifecycle(db: Database) -> None:
    await add_user(db, 1)
    await add_user(db, 2)
    for key, user in [("a", 1), ("b", 1), ("c", 2), ("d", 2)]:
        assert await outbox.add(db, note(key, user))
    assert not await outbox.add(db, note("a", 1))

    # One message per chat at a time, oldest first.
    first, third = await outbox.due(db, now=10**10)
    assert [first.dedupe_key, third.dedupe_key] == ["a", "c"]
    assert first.payload == {"n": 1}

    await outbox.mark_sent(db, first.id)
    await outbox.park(db, third.id, "keeps failing")
    second, fourth = await outbox.due(db, now=10**10)
    assert [second.dedupe_key, fourth.dedupe_key] == ["b", "d"]

    await outbox.retry_later(db, second.id, "HTTP 500", next_attempt_at=10**11)
    assert [m.dedupe_key for m in await outbox.due(db, now=10**10)] == ["d"]
    assert [m.dedupe_key for m in await outbox.due(db, now=10**12)] == ["b", "d"]

    assert await outbox.drop_for_user(db, 2, "blocked") == 1
    assert [m.dedupe_key for m in await outbox.due(db, now=10**12)] == ["b"]

    parked = await outbox.with_status(db, OutboxStatus.PARKED)
    assert [(m.dedupe_key, m.last_error, m.attempts) for m in parked] == [("c", "keeps failing", 1)]
    assert [m.dedupe_key for m in await outbox.with_status(db, OutboxStatus.SENT)] == ["a"]
    assert [m.dedupe_key for m in await outbox.with_status(db, OutboxStatus.DROPPED)] == ["d"]


async def test_the_notifiers_claim_finds_pending_messages_through_their_index(
    sqlite_db: SQLiteDatabase,
) -> None:
    plan = await sqlite_db.fetchall(
        f"EXPLAIN QUERY PLAN {outbox._CLAIM_DUE[Dialect.SQLITE]}", (0.0, 10, 1.0, 1.0)
    )
    steps = [row[3] for row in plan]
    assert "SEARCH o USING INDEX outbox_due (next_attempt_at<?)" in steps
    assert not [step for step in steps if step.startswith("SCAN")]  # not the whole outbox


async def test_a_message_for_a_user_who_blocked_the_bot_is_recorded_not_sent(
    db: Database,
) -> None:
    # The tracker may queue news for a user after the notifier learned they blocked the bot.
    await add_user(db, 1)
    await users.set_active(db, 1, False)
    assert await outbox.add(db, note("late", 1))
    assert await outbox.due(db, now=10**10) == []
    dropped = await outbox.with_status(db, OutboxStatus.DROPPED)
    assert [(m.dedupe_key, m.last_error) for m in dropped] == [("late", "user is inactive")]
    assert not await outbox.add(db, note("late", 1))  # still queued once

    await users.set_active(db, 1, True)
    assert await outbox.add(db, note("back", 1))
    assert [m.dedupe_key for m in await outbox.due(db, now=10**10)] == ["back"]


async def test_a_waiting_retry_holds_back_the_rest_of_its_chat(db: Database) -> None:
    await add_user(db, 1)
    for key in ("first", "second"):
        await outbox.add(db, note(key, 1))
    [first] = await outbox.due(db, now=10**10)
    await outbox.retry_later(db, first.id, "HTTP 500", next_attempt_at=10**11)
    assert await outbox.due(db, now=10**10) == []  # "second" must not overtake "first"


# -- catalog cache -----------------------------------------------------------------------


async def test_catalog_cache_round_trips(db: Database) -> None:
    assert await catalog.last_fetch(db, "alice") is None
    services = [{"service": 389, "category": "Instagram. Likes. ", "product_name": "Лайки"}]
    await catalog.save(db, "alice", services, fetched_at=123.5)
    digest = await catalog.save(db, "alice", services * 2, fetched_at=200.0)
    fetch = await catalog.last_fetch(db, "alice")
    assert fetch == catalog.Fetch(digest, 200.0)
    assert await catalog.contents(db, digest) == services * 2


async def test_a_catalog_many_accounts_fetched_is_stored_once(db: Database) -> None:
    services = [{"service": 389, "category": "Instagram. Likes. ", "product_name": "Лайки"}]
    digests = {await catalog.save(db, f"user{n}", services, fetched_at=n) for n in range(50)}
    assert len(digests) == 1
    other = await catalog.save(db, "user0", services * 2, fetched_at=60.0)
    assert other not in digests

    async def stored() -> int:
        row = await db.fetchone("SELECT count(*) FROM catalog_contents")
        assert row is not None
        return int(row[0])

    assert await stored() == 2
    for n in range(1, 50):  # the last account on the first content moves on: it is deleted
        await catalog.save(db, f"user{n}", services * 2, fetched_at=70.0)
    assert await stored() == 1
    assert await catalog.contents(db, digests.pop()) is None


async def test_a_catalog_cached_before_contents_were_shared_is_still_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.sqlite3"
    services = [{"service": 389, "category": "Instagram. Likes. ", "product_name": "Лайки"}]
    async with await Database.open(path, migrate_to=2) as old:
        await old.execute(
            "INSERT INTO catalog_cache (account, services, fetched_at) VALUES (?, ?, ?)",
            ("alice", json.dumps(services), 123.5),
        )
    async with await Database.open(path) as db:
        fetch = await catalog.last_fetch(db, "alice")
        assert fetch is not None
        assert fetch.fetched_at == 123.5
        assert await catalog.contents(db, fetch.digest) == services


async def test_the_log_is_checkpointed_into_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await SQLiteDatabase.connect(path) as db:
        for user_id in range(1, 50):
            await add_user(db, user_id)
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size > 0  # no checkpoint inside the commits themselves
        await db.checkpoint()
    assert not wal.exists() or wal.stat().st_size == 0  # all of it is in the database file
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM users").fetchone() == (49,)


async def test_a_failed_checkpoint_is_logged_and_the_next_one_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sqlite_module, "CHECKPOINT_EVERY", 0.05)
    async with await SQLiteDatabase.connect(tmp_path / "bot.sqlite3") as db:
        real_checkpoint = db.checkpoint
        attempts = 0

        async def failing_once() -> None:
            # A disk error, which this machine cannot be made to produce on demand.
            nonlocal attempts
            attempts += 1
            if attempts == 1:
                raise sqlite3.OperationalError("disk I/O error")
            await real_checkpoint()

        monkeypatch.setattr(db, "checkpoint", failing_once)
        await eventually(lambda: attempts >= 3, within=10, interval=0.05)
    assert any("checkpoint failed (disk I/O error)" in r.getMessage() for r in caplog.records)


def spy_on_syncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files synced to disk from now on (the syncs still happen)."""
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


async def test_the_row_before_add_is_on_disk_when_it_returns(
    sqlite_db: SQLiteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sqlite_db
    await add_user(db)
    synced = spy_on_syncs(monkeypatch)
    await submit(db, "durable")
    assert synced == [f"{db.path}-wal"]  # the log that holds the commit, synced before return
    await add_user(db, 2)
    assert len(synced) == 1  # other writes wait for the next checkpoint, as before


async def test_recording_the_panels_answer_queues_its_message_once(db: Database) -> None:
    await add_user(db)
    await submit(db, "a")
    await submit(db, "b")
    placed = await orders.mark_placed(
        db, "a", panel_order_id="7000001", charged=Decimal("0.125"), next_check_at=1.0
    )
    assert placed.message is not None
    assert placed.message.kind == "order_placed"
    assert placed.message.payload == {
        "order": placed.order.id,
        "panel_order_id": "7000001",
        "service": "Instagram Likes",
        "charged": "0.125",
        "error": None,
    }
    # Held back for the code that recorded the answer, which delivers it itself.
    assert placed.message.next_attempt_at > time.time() + 30
    assert await outbox.due(db, time.time()) == []
    # Asked again (a retried write that had gone through): the same order, the same message.
    again = await orders.mark_placed(
        db, "a", panel_order_id="7000001", charged=Decimal("0.125"), next_check_at=1.0
    )
    assert again.message == placed.message
    await outbox.mark_sent(db, placed.message.id)
    sent = await orders.mark_placed(
        db, "a", panel_order_id="7000001", charged=Decimal("0.125"), next_check_at=1.0
    )
    assert sent.message is None  # gone out: nothing for the caller to send

    uncertain = await orders.mark_uncertain(db, "b", "timed out")
    assert uncertain.message is not None
    assert uncertain.message.kind == "order_uncertain"
    late = await orders.mark_placed(
        db, "b", panel_order_id="7000002", charged=None, next_check_at=1.0
    )
    assert late.message is not None
    assert late.message.kind == "order_placed"

    await submit(db, "c")
    refused = await orders.mark_rejected(db, "c", "Недостаточно средств на балансе")
    assert refused.message is not None
    assert refused.message.kind == "order_rejected"
    assert refused.message.payload["error"] == "Недостаточно средств на балансе"

    # What tracking records afterwards is announced by the tracker, not by the answer's message.
    result = CheckResult(OrderState.IN_PROGRESS, "2", "In progress", 100, next_check_at=2.0)
    await orders.record_check(db, placed.order.id, result, event=True)
    rows = await db.fetchall("SELECT kind FROM outbox ORDER BY id")
    assert [row["kind"] for row in rows] == [
        "order_placed",
        "order_uncertain",
        "order_placed",
        "order_rejected",
    ]
    await outbox.release(db, refused.message.id)
    # The chat's messages go in order: the older ones, still held, hold the refusal back.
    assert await outbox.due(db, time.time() + 1) == []
    await outbox.release_claims(db, time.time())  # as a start-up does
    [due] = await outbox.due(db, time.time() + 1)
    assert due.kind == "order_uncertain"


async def test_durable_writes_arriving_together_share_a_sync(
    sqlite_db: SQLiteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = sqlite_db
    await add_user(db)
    synced = spy_on_syncs(monkeypatch)
    results = await asyncio.gather(
        *(submit(db, f"t{n}") for n in range(20)),
        db.fetchall_durable("INSERT INTO orders (token) VALUES ('incomplete')"),
        return_exceptions=True,
    )
    *placed, refused = results
    assert all(isinstance(order, orders.Order) for order in placed)
    assert isinstance(refused, sqlite3.IntegrityError)  # its own error, nobody else's
    assert 1 <= len(synced) < 10  # a sync for a group, not one each
    assert await orders.count_for_user(db, 1) == 20
