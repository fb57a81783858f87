"""Tracking and notifications, end to end: orders placed through the conversation are checked
on the sandbox panel (its clock moved by the test) and announced through the emulator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from storage import orders, outbox, users
from storage.orders import OrderState
from storage.outbox import OutboxStatus
from tests.conftest import ALICE, BotFactory
from tests.flows import place_order
from tests.harness import BotHarness
from tests.helpers import (
    FAST_NOTIFIER,
    FAST_TRACKING,
    FINAL_WORDS,
    eventually,
    finished,
    notifications,
)


@pytest.fixture
async def tracking(make_bot: BotFactory) -> AsyncIterator[BotHarness]:
    bot = make_bot(
        tracker=FAST_TRACKING,
        notifier=FAST_NOTIFIER,
        check_interval_seconds=FAST_TRACKING.base_interval,
        admin_ids=frozenset({42}),
    )
    async with bot.running():
        yield bot


async def test_an_order_is_announced_as_it_moves_and_when_it_ends(tracking: BotHarness) -> None:
    panel = tracking.panel
    anna = tracking.user(501, "Anna")
    await place_order(anna)
    card = anna.last_message  # the confirmation, now the order's card
    assert "📦 Order #7000000" in card.text
    plan = panel.orders["7000000"]
    panel.clock.advance(plan.start_after + plan.duration / 2)
    if plan.outcome != "cancelled":
        # It moves in its card, edited in place: no message, no sound.
        await eventually(lambda: "▓" in card.text)
        assert "📦 Order #7000000" in card.text
        assert "in progress" in card.text
        assert " of 1,000" in card.text
        assert card.button_labels == ["🔄 Refresh", "🔁 Order again", "🔕 Mute"]
        assert anna.bot_messages == [card]
        assert notifications(anna) == []
    panel.clock.advance(10_000)
    await eventually(lambda: finished(anna, "7000000") == 1)
    code, _ = panel.order_status("7000000")
    final = notifications(anna)[-1]
    expected = "Partly delivered" if plan.outcome == "partial" else FINAL_WORDS[str(code)]
    assert expected in final
    assert anna.last_message.text == final  # its end: a message of its own
    assert anna.last_message.button_labels == ["📦 View order", "🔁 Order again"]
    await eventually(lambda: "🔄 Refresh" not in card.button_labels)  # the card shows the end
    await asyncio.sleep(0.3)  # more checks would find nothing new
    assert finished(anna, "7000000") == 1
    assert len(anna.bot_messages) == 2  # the card and the end, nothing else
    assert tracking.services is not None
    [order] = await orders.list_for_user(tracking.services.db, 501, limit=1)
    assert order.state.is_final
    assert order.next_check_at is None
    checks = panel.calls["check"]
    await asyncio.sleep(0.3)
    assert panel.calls["check"] == checks  # a finished order is not checked any more
    await anna.press("📦 View order")
    assert "Order #7000000" in anna.last_message.text


async def test_only_when_done_and_mute_are_respected(tracking: BotHarness) -> None:
    panel = tracking.panel
    anna = tracking.user(501, "Anna")
    await anna.send("/settings")
    assert "✅ Only when done" in anna.last_message.button_labels  # the default
    await anna.press("Start and end")
    assert "✅ Start and end" in anna.last_message.button_labels
    await anna.press("Only when done")  # and back: the choice is the person's
    assert "✅ Only when done" in anna.last_message.button_labels
    await place_order(anna)
    await place_order(anna)
    # Mute the second order from its card.
    await anna.send("/orders")
    await anna.press("#7000001")
    await anna.press("🔕 Mute")
    assert "🔔 Unmute" in anna.last_message.button_labels
    panel.clock.advance(300)  # both under way
    await asyncio.sleep(0.3)
    assert not any("▶️ Started" in t for t in notifications(anna))
    panel.clock.advance(10_000)
    await eventually(lambda: finished(anna, "7000000") == 1)
    await asyncio.sleep(0.3)
    assert finished(anna, "7000001") == 0
    assert not any("▶️ Started" in t for t in notifications(anna))
    assert tracking.services is not None
    muted = await orders.get_for_user(tracking.services.db, 501, 2)
    assert muted is not None
    assert muted.state.is_final  # still tracked, just not announced


async def test_a_panel_outage_opens_the_breaker_and_nothing_is_lost(tracking: BotHarness) -> None:
    panel = tracking.panel
    anna = tracking.user(501, "Anna")
    await place_order(anna)
    await place_order(anna)
    panel.set_faults(html_rate=1.0, actions=["check"])
    panel.clock.advance(10_000)  # both finish while the panel can't say so
    before = panel.calls["check"]
    await asyncio.sleep(4.0)
    during = panel.calls["check"] - before
    # Without a breaker: 2 orders every 0.05 s, 3 attempts each, for 4 s -> hundreds.
    assert during <= 30, during
    assert tracking.services is not None
    assert tracking.services.tracker.breaker.is_open
    assert notifications(anna) == []
    panel.set_faults()
    await eventually(lambda: finished(anna, "7000000") == 1 and finished(anna, "7000001") == 1)
    await asyncio.sleep(0.3)
    assert finished(anna, "7000000") == 1
    assert finished(anna, "7000001") == 1


async def test_telegram_refusing_for_a_while_loses_and_doubles_nothing(
    tracking: BotHarness,
) -> None:
    panel, emulator = tracking.panel, tracking.emulator
    anna = tracking.user(501, "Anna")
    await place_order(anna)
    emulator.fail_next("sendMessage", 500, count=2)
    emulator.fail_next("sendMessage", 429, count=1, retry_after=1)
    panel.clock.advance(10_000)
    await eventually(lambda: finished(anna, "7000000") == 1)
    await asyncio.sleep(0.3)
    assert finished(anna, "7000000") == 1
    refused = [c for c in emulator.calls if c.method == "sendMessage" and c.status != 200]
    assert [c.status for c in refused] == [500, 500, 429]
    assert tracking.services is not None
    assert await outbox.due(tracking.services.db, now=time.time() + 3600) == []


async def test_a_user_who_blocked_the_bot_stops_costing_requests(tracking: BotHarness) -> None:
    panel, emulator = tracking.panel, tracking.emulator
    anna = tracking.user(501, "Anna")
    await place_order(anna)
    await place_order(anna)
    anna.block()
    sends = len(emulator.calls)
    panel.clock.advance(10_000)
    assert tracking.services is not None
    db = tracking.services.db

    async def inactive() -> bool:
        user = await users.get(db, 501)
        return user is not None and not user.is_active

    await eventually(inactive, within=10)
    await asyncio.sleep(0.5)
    # Their cards' edits and their ends' messages alike.
    attempts = [
        c
        for c in emulator.calls[sends:]
        if c.method in ("sendMessage", "editMessageText") and c.parameters.get("chat_id") == "501"
    ]
    assert len(attempts) == 1, attempts  # one refused request, then silence
    assert attempts[0].status == 403
    assert await outbox.due(db, now=time.time() + 3600) == []  # the rest dropped
    await anna.send("/start")  # unblocked and back: active again
    assert await inactive() is False


async def test_stopping_mid_cycle_and_restarting_announces_each_change_once(
    tracking: BotHarness,
) -> None:
    panel = tracking.panel
    people = [tracking.user(600 + n, f"P{n}") for n in range(4)]
    for person in people:
        await place_order(person)
    panel.set_faults(latency=0.2, actions=["check"])  # so a stop finds checks under way
    panel.clock.advance(10_000)
    await asyncio.sleep(0.1)
    await tracking.stop()  # graceful: in-flight checks finish and are recorded
    panel.set_faults()
    await tracking.start()
    await asyncio.sleep(0.05)
    assert tracking.services is not None
    task = tracking.services.tracker.task
    assert task is not None
    task.cancel()  # a hard stop in the middle of a cycle
    await tracking.restart()

    def everyone_told() -> bool:
        return all(finished(p, str(7_000_000 + n)) >= 1 for n, p in enumerate(people))

    await eventually(everyone_told)
    await asyncio.sleep(0.3)
    for n, person in enumerate(people):
        assert finished(person, str(7_000_000 + n)) == 1, person.transcript


async def test_an_order_the_panel_does_not_know_becomes_lost(tracking: BotHarness) -> None:
    anna = tracking.user(501, "Anna")
    await anna.send("/start")
    assert tracking.services is not None
    db = tracking.services.db
    await orders.start_submitting(
        db,
        token="ghost",
        user_id=501,
        chat_id=501,
        account=ALICE,
        service_id="389",
        service_name="Instagram Likes",
        params={"url": "https://instagram.com/p/x", "count": "100"},
        quantity=100,
        total=Decimal("0.05"),
    )
    placed = await orders.mark_placed(
        db, "ghost", panel_order_id="999", charged=None, next_check_at=0
    )
    assert placed.message is not None
    await outbox.release(db, placed.message.id)  # as placing it would have delivered it
    await eventually(lambda: any("no longer knows" in t for t in notifications(anna)))
    [order] = await orders.list_for_user(db, 501, limit=1)
    assert order.state is OrderState.LOST
    assert order.failed_checks == FAST_TRACKING.lost_after
    assert tracking.panel.calls["check"] >= FAST_TRACKING.lost_after
    checks = tracking.panel.calls["check"]
    await asyncio.sleep(0.3)
    assert tracking.panel.calls["check"] == checks
    assert await outbox.with_status(db, OutboxStatus.PARKED) == []


async def test_progress_is_announced_in_steps_not_on_every_check(tracking: BotHarness) -> None:
    panel, emulator = tracking.panel, tracking.emulator
    anna = tracking.user(501, "Anna")
    for attempt in range(8):  # find an order that delivers everything over time
        await place_order(anna)
        card = anna.last_message
        order_id = str(7_000_000 + attempt)
        assert f"📦 Order #{order_id}" in card.text
        plan = panel.orders[order_id]
        if plan.outcome == "completed":
            break
    else:
        pytest.skip("the seed gave no completing order")
    panel.clock.advance(plan.start_after + 1)
    for _ in range(40):  # 2.5 % of the delivery time per step
        panel.clock.advance(plan.duration / 40)
        await asyncio.sleep(0.08)
    await eventually(lambda: finished(anna, order_id) == 1)
    await eventually(lambda: "✅ completed" in card.text)
    # Progress is shown by editing the order's card, not by messages.
    edits = [
        str(c.parameters.get("text"))
        for c in emulator.calls
        if c.method == "editMessageText"
        and c.status == 200
        and str(c.parameters.get("message_id")) == str(card.message_id)
    ]
    moving = [text for text in edits if "in progress" in text]
    delivered = [
        int(line.split(" of ")[0].split("· ")[-1].replace(",", ""))
        for text in moving
        for line in text.splitlines()
        if "▓" in line or "░" in line
    ]
    assert 2 <= len(moving) <= 4, moving  # an edit per quarter at most
    assert len(delivered) == len(moving), moving  # each shows how far it got
    assert delivered == sorted(delivered)
    assert tracking.panel.calls["check"] > len(moving) + 5  # many checks, fewer edits
    # One message of its own, for its end.
    [end] = [m for m in anna.bot_messages if f"#{order_id}" in m.text and m is not card]
    assert "is complete" in end.text


async def test_a_message_that_keeps_failing_is_parked(tracking: BotHarness) -> None:
    emulator, panel = tracking.emulator, tracking.panel
    anna = tracking.user(501, "Anna")
    await place_order(anna)
    emulator.fail_next("sendMessage", 502, count=FAST_NOTIFIER.max_attempts)
    panel.clock.advance(10_000)
    assert tracking.services is not None
    db = tracking.services.db
    await eventually(lambda: outbox.with_status(db, OutboxStatus.PARKED), within=10)
    [parked] = await outbox.with_status(db, OutboxStatus.PARKED)
    assert parked.attempts == FAST_NOTIFIER.max_attempts
    assert "502" in (parked.last_error or "") or "Bad Gateway" in (parked.last_error or "")
    assert finished(anna, "7000000") == 0
    # Admins can see it; nobody else can.
    await anna.send("/parked")
    assert anna.last_message.text == "This command is not available."
    admin = tracking.user(42, "Admin")
    await admin.send("/parked")
    assert f"#{parked.id} · user 501 · {FAST_NOTIFIER.max_attempts}×" in admin.last_message.text


async def test_stopping_mid_send_and_restarting_sends_once(tracking: BotHarness) -> None:
    emulator, panel = tracking.emulator, tracking.panel
    people = [tracking.user(700 + n, f"Q{n}") for n in range(3)]
    for person in people:
        await place_order(person)
    emulator.latency["sendMessage"] = 0.3
    panel.clock.advance(10_000)
    assert tracking.services is not None
    db = tracking.services.db
    # Until the tracker found the changes.
    await eventually(lambda: outbox.due(db, now=time.time() + 60), within=10, interval=0.01)
    await asyncio.sleep(0.15)  # the first notification is now on its way to Telegram
    task = tracking.services.notifier.task
    assert task is not None
    task.cancel()
    await tracking.restart()
    emulator.latency.clear()

    def everyone_told() -> bool:
        return all(finished(p, str(7_000_000 + n)) >= 1 for n, p in enumerate(people))

    await eventually(everyone_told)
    await asyncio.sleep(0.3)
    for n, person in enumerate(people):
        assert finished(person, str(7_000_000 + n)) == 1, person.transcript
