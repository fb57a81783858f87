"""Work shared by replicas, on both backends: an order to check or a message to send is
taken by one replica at a time, a replica killed mid-lease loses nothing, a chat's messages
keep their order and pace whoever sends them, an outage is one outage, and the catalog is
fetched by one replica for all, and a rotated key re-seals each stored key once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet

from bot.catalog import Catalog, CatalogMemory
from bot.sandbox.panel import Account, SandboxPanel
from bot.secretbox import SecretBox, reseal_linked
from bot.smmlaba import Panel, SmmLabaClient
from bot.tracker import Tracker, TrackerConfig
from storage import orders, outbox, users
from storage.db import Database
from storage.orders import CheckResult, Order, OrderState
from storage.outages import close_outage, open_outage
from storage.outbox import Notification
from storage.postgres import POOL_SIZE
from tests.helpers import eventually
from tests.test_tracker_limits import open_orders

NOW = 1_000_000.0


@pytest.fixture
async def other(database_url: str, db: Database) -> AsyncIterator[Database]:
    """A second replica's connection to the same database."""
    async with await Database.open(database_url) as database:
        yield database


async def due_orders(db: Database, count: int) -> None:
    await users.touch(db, 1, chat_id=1, first_name="A", telegram_language="en")
    for index in range(count):
        await orders.start_submitting(
            db,
            token=f"t{index}",
            user_id=1,
            chat_id=1,
            account="alice@example.com",
            service_id="389",
            service_name="Instagram Likes",
            params={},
            quantity=100,
            total=Decimal("0.05"),
        )
        await orders.mark_placed(
            db, f"t{index}", panel_order_id=str(index), charged=None, next_check_at=NOW - index
        )


async def test_replicas_claiming_at_once_never_take_the_same_order(
    db: Database, other: Database
) -> None:
    await due_orders(db, 300)
    first: list[int] = []
    second: list[int] = []
    # Each round, both claim at the same moment: they race for the same rows every time
    # (claiming in turns at their own pace, one could take everything before the other began).
    while True:
        mine, theirs = await asyncio.gather(
            orders.claim_due(db, NOW, 20, NOW + 300), orders.claim_due(other, NOW, 20, NOW + 300)
        )
        if not mine and not theirs:
            break
        first += [order.id for order in mine]
        second += [order.id for order in theirs]
    assert not set(first) & set(second)
    assert len(first) + len(second) == 300
    assert first  # both took a share
    assert second


async def test_a_claim_takes_the_longest_waiting_first(db: Database) -> None:
    await due_orders(db, 5)
    batch = await orders.claim_due(db, NOW, 2, NOW + 300)
    assert [order.token for order in batch] == ["t4", "t3"]


async def test_an_order_a_killed_replica_took_is_due_again_when_its_lease_ends(
    db: Database, other: Database
) -> None:
    await due_orders(db, 1)
    [taken] = await orders.claim_due(db, NOW, 10, NOW + 300)  # ... and then it was killed
    assert await orders.claim_due(other, NOW + 299, 10, NOW + 599) == []
    [again] = await orders.claim_due(other, NOW + 300, 10, NOW + 600)
    assert again.id == taken.id


async def test_a_recorded_or_given_back_order_is_no_longer_taken(db: Database) -> None:
    await due_orders(db, 2)
    first, second = await orders.claim_due(db, NOW, 10, NOW + 300)
    quiet = CheckResult(OrderState.PENDING, "0", "", 100, next_check_at=NOW - 1)
    await orders.record_check(db, first.id, quiet, event=False)
    await orders.unclaim(db, second.id)
    assert {order.id for order in await orders.claim_due(db, NOW, 10, NOW + 300)} == {
        first.id,
        second.id,
    }


async def test_the_only_replica_starting_takes_back_what_a_stopped_one_held(db: Database) -> None:
    await due_orders(db, 3)
    await orders.claim_due(db, NOW, 10, NOW + 300)
    assert await orders.release_leases(db) == 3
    assert len(await orders.due_for_check(db, NOW, 10)) == 3


async def test_two_trackers_on_one_database_check_each_order_once(
    db: Database, other: Database, panel: SandboxPanel, client: SmmLabaClient
) -> None:
    await open_orders(db, client, 120)

    def panel_for(_order: Order) -> Panel:
        return client

    # Checked once, then not for an hour: any second check in this test is a double.
    config = TrackerConfig(
        base_interval=3600, rate_per_second=1000, concurrency=8, idle_poll=0.02, batch=10
    )
    trackers = [Tracker(replica, panel_for, config) for replica in (db, other)]
    before = panel.calls["check"]
    for tracker in trackers:
        tracker.start()
    try:
        await eventually(lambda: panel.calls["check"] - before >= 120, within=20)
        await asyncio.sleep(0.3)  # time enough for a double to show
    finally:
        for tracker in trackers:
            await tracker.stop()
    assert panel.calls["check"] - before == 120
    assert await orders.due_for_check(db, time.time(), 10) == []


def note(key: str, chat: int) -> Notification:
    return Notification(dedupe_key=key, user_id=chat, chat_id=chat, kind="order_status", payload={})


async def test_a_chats_messages_go_one_at_a_time_in_order_at_its_pace(
    db: Database, other: Database
) -> None:
    for chat in (1, 2):
        await users.touch(db, chat, chat_id=chat, first_name="A", telegram_language="en")
    for key, chat in (("a1", 1), ("a2", 1), ("b1", 2)):
        await outbox.add(db, note(key, chat))
    now = time.time()

    async def claim(replica: Database, at: float) -> list[str]:
        taken = await outbox.claim_due(replica, at, 10, lease_until=at + 60, spacing=1.0)
        return [message.dedupe_key for message in taken]

    assert await claim(db, now) == ["a1", "b1"]
    assert await claim(other, now) == []  # a1 is taken, and a2 waits behind it
    [a1] = [m for m in await outbox.with_status(db, outbox.OutboxStatus.PENDING) if m.id == 1]
    await outbox.mark_sent(db, a1.id)
    sent_at = time.time()
    assert await claim(other, sent_at + 0.5) == []  # the chat had a message under 1 s ago
    assert await claim(other, sent_at + 1.1) == ["a2"]


async def test_a_message_a_killed_replica_took_goes_out_when_its_lease_ends(
    db: Database, other: Database
) -> None:
    await users.touch(db, 1, chat_id=1, first_name="A", telegram_language="en")
    await outbox.add(db, note("k", 1))
    now = time.time()
    [taken] = await outbox.claim_due(db, now, 10, lease_until=now + 60, spacing=1.0)
    assert await outbox.claim_due(other, now + 59, 10, lease_until=now + 119, spacing=1.0) == []
    [again] = await outbox.claim_due(other, now + 60, 10, lease_until=now + 120, spacing=1.0)
    assert again.id == taken.id
    await outbox.unclaim(other, again.id)
    assert await outbox.release_claims(db, now) == 0  # nothing held: nothing to release
    await outbox.claim_due(db, now, 10, lease_until=now + 60, spacing=1.0)
    assert await outbox.release_claims(db, now) == 1  # the only replica, starting


async def test_an_outage_seen_by_several_replicas_is_one_outage(
    db: Database, other: Database
) -> None:
    panel = "https://smmlaba.com/vkapi/v1/"
    assert await open_outage(db, panel, 100.0) == 100.0
    assert await open_outage(other, panel, 130.0) == 100.0  # saw it later: the same one
    await close_outage(other, panel, 200.0)
    await close_outage(db, panel, 210.0)  # closed already: nothing changes
    assert await open_outage(db, panel, 300.0) == 300.0  # a new one
    row = await db.fetchone("SELECT count(*) AS n FROM panel_outages WHERE until = 200.0")
    assert row is not None
    assert row["n"] == 1


async def test_replicas_fetch_the_catalog_once_between_them(
    postgres_url: str, panel: SandboxPanel, client: SmmLabaClient, alice: Account
) -> None:
    now = [1000.0]
    async with (
        await Database.open(postgres_url) as first,
        await Database.open(postgres_url) as second,
    ):
        catalogs = [
            Catalog(client, db, alice.username, CatalogMemory(2), ttl=60, clock=lambda: now[0])
            for db in (first, second)
        ]
        before = panel.calls["services"]
        # Both start with nothing: one asks the panel, the other takes what it saved.
        snapshots = await asyncio.gather(*(catalog.snapshot() for catalog in catalogs))
        assert all(snapshot is not None for snapshot in snapshots)
        assert panel.calls["services"] - before == 1
        # Both find it stale at once: again, one fetch between them.
        now[0] += 61
        await asyncio.gather(*(catalog.refresh(unless_fresh=True) for catalog in catalogs))
        assert panel.calls["services"] - before == 2
        # An admin's /refresh_catalog asks the panel whatever was saved.
        await catalogs[1].refresh()
        assert panel.calls["services"] - before == 3


async def test_replicas_starting_together_reseal_each_key_once(
    db: Database, other: Database
) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed_with_old = SecretBox([old])
    for user_id in (1, 2, 3):
        await users.touch(db, user_id, chat_id=user_id, first_name="A", telegram_language="en")
        key = sealed_with_old.seal(user_id, f"key-{user_id}")
        await users.set_panel_account(db, user_id, f"u{user_id}@example.com", key)
    rotated = SecretBox([new, old])  # BOT_SECRET_KEY=new,old on every replica
    linked = await users.linked_accounts(db)
    counts = await asyncio.gather(
        *(reseal_linked(replica, rotated, linked) for replica in (db, other))
    )
    assert sum(counts) == 3  # each key once, by whichever replica got there first
    only_new = SecretBox([new])
    for user_id, _username, sealed in await users.linked_accounts(db):
        assert only_new.open(user_id, sealed) == f"key-{user_id}"


async def test_a_message_is_taken_by_one_sender_at_a_time(db: Database, other: Database) -> None:
    await users.touch(db, 1, chat_id=1, first_name="A", telegram_language="en")
    await outbox.add(db, note("k", 1))
    [message] = await outbox.due(db, time.time())
    now = time.time()
    assert await outbox.claim(db, message.id, now, now + 60)
    assert not await outbox.claim(other, message.id, now, now + 60)  # a notifier has it
    assert await outbox.claim_due(other, now, 10, lease_until=now + 60, spacing=1.0) == []
    await outbox.mark_sent(db, message.id)
    assert not await outbox.claim(other, message.id, now + 61, now + 120)  # sent: nobody's


class BrokenLimiter:
    """A shared limit that cannot be reached (Redis restarting)."""

    async def acquire(self) -> None:
        raise ConnectionError("Redis is restarting")


async def test_a_check_that_fails_outside_the_panel_gives_its_order_back(
    db: Database, panel: SandboxPanel, client: SmmLabaClient, caplog: pytest.LogCaptureFixture
) -> None:
    await open_orders(db, client, 3)
    config = TrackerConfig(idle_poll=0.02)
    tracker = Tracker(
        db, lambda _order: client, config, limiters=lambda _name, _rate, _burst: BrokenLimiter()
    )
    tracker.retry_after = 30.0  # paused after the failure: no spinning meanwhile
    before = panel.calls["check"]
    tracker.start()
    try:
        await eventually(lambda: "a check failed" in caplog.text)
        await asyncio.sleep(0.2)
    finally:
        await tracker.stop()
    assert panel.calls["check"] == before
    # Due again at once, for any replica: not held for the lease's five minutes.
    assert len(await orders.claim_due(db, time.time(), 10, time.time() + 300)) == 3
    # A batch or two (the next may be claimed before the first fails), then the pause: not
    # a claim and a failure every `idle_poll` for as long as Redis is away.
    failures = sum(record.getMessage() == "a check failed" for record in caplog.records)
    assert 3 <= failures <= 6


async def test_many_catalogs_fetched_at_once_leave_the_pool_room(
    postgres_url: str, panel: SandboxPanel, client: SmmLabaClient
) -> None:
    panel.set_faults(html_rate=1.0, actions=["services"])  # down, and nothing cached yet
    async with await Database.open(postgres_url) as db:
        catalogs = [
            Catalog(client, db, f"account{n}", CatalogMemory(2)) for n in range(POOL_SIZE + 4)
        ]
        snapshots = await asyncio.wait_for(
            asyncio.gather(*(catalog.snapshot() for catalog in catalogs)), 60
        )
    assert snapshots == [None] * len(catalogs)
