"""Several links at once, end to end: one confirmation, each line its own order placed once
(a double tap and a restart mid-batch repeat none), one message of progress and outcome, and
the orders' ends told as the person chose."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from bot.catalog import service_key
from bot.sandbox.telegram import SimulatedUser
from handlers.callbacks import SeveralLinks
from storage import batches, orders, outbox, users
from storage.db import Database
from storage.orders import CheckResult, OrderState
from storage.outbox import Kind
from tests.conftest import ALICE
from tests.flows import open_card
from tests.harness import BotHarness
from tests.helpers import eventually, finished, russian

POSTS = [f"https://instagram.com/p/post{n}" for n in range(3)]


async def up_to_confirmation(anna: SimulatedUser) -> str:
    """Three links, the second with its own amount, 1,000 for the others: the Place
    button's token."""
    await open_card(anna)
    await anna.press("📋 Several links")
    assert "Send up to 50 links, one per line" in anna.last_message.text
    await anna.send(f"{POSTS[0]}\n{POSTS[1]} 500\n\n{POSTS[2]}")
    assert "One amount for the 2 links without their own" in anna.last_message.text
    await anna.send("1000")
    place = anna.last_message.find_button("✅ Place 3 orders")
    assert place is not None, anna.last_message
    assert place.callback_data is not None
    return place.callback_data


async def test_each_line_is_placed_once_and_its_end_told_on_its_own(
    tracking: BotHarness,
) -> None:
    anna = tracking.user(501, "Anna")
    place = await up_to_confirmation(anna)
    confirmation = anna.last_message
    assert "Please check your orders" in confirmation.text
    assert f"2. {POSTS[1]} · 500" in confirmation.text
    assert "📦 Orders: 3 · 💵 Total: RUB\u00a01.25 · balance after: RUB\u00a0998.75" in (
        confirmation.text
    )
    await anna.press("🔔 When all have ended: one message")
    assert "🔔 As each one ends: a message each" in confirmation.button_labels

    await anna.press("✅ Place 3 orders")
    outcome = confirmation.text
    assert "✅ Placed 3 of 3 orders · RUB\u00a01.25" in outcome
    ids = sorted(tracking.panel.orders)
    assert all(f"#{i}" in outcome for i in ids)
    assert tracking.panel.calls["add"] == 3
    amounts = sorted(int(o.count) for o in tracking.panel.orders.values())
    assert amounts == [500, 1000, 1000]

    await anna.press_data(place)  # a second tap on the spent button
    assert anna.callback_answers[-1] == "These orders were already sent."
    assert tracking.panel.calls["add"] == 3
    assert tracking.services is not None
    mine = await orders.list_for_user(tracking.services.db, 501, limit=10)
    assert sorted(o.panel_order_id or "" for o in mine) == ids
    assert all(o.batch == place.removeprefix("sc:") for o in mine)

    tracking.panel.clock.advance(100_000)
    await eventually(lambda: all(finished(anna, i) == 1 for i in ids))
    await asyncio.sleep(0.3)
    assert all(finished(anna, i) == 1 for i in ids)
    assert not any("have ended" in m.text for m in anna.bot_messages)


async def test_one_message_when_all_have_ended(tracking: BotHarness) -> None:
    anna = tracking.user(501, "Anna")
    await up_to_confirmation(anna)
    await anna.press("✅ Place 3 orders")
    ids = sorted(tracking.panel.orders)
    tracking.panel.clock.advance(100_000)
    ended = "📋 All 3 orders of Instagram Likes have ended:"
    await eventually(lambda: any(ended in m.text for m in anna.bot_messages))
    await asyncio.sleep(0.3)
    told = [m for m in anna.bot_messages if ended in m.text]
    assert len(told) == 1
    assert all(f"#{i}" in told[0].text for i in ids)
    assert all(finished(anna, i) == 0 for i in ids)  # not one by one
    assert told[0].button_labels == ["📦 My orders"]


async def test_wrong_lines_and_amounts_are_each_told(tracking: BotHarness) -> None:
    anna = tracking.user(501, "Anna")
    await open_card(anna)
    await anna.press("📋 Several links")
    await anna.send(f"not a link\n{POSTS[0]} 5\n{POSTS[1]}")
    said = anna.last_message.text
    assert "Line 1:" in said
    assert "Line 2: 5 is below the minimum of 50." in said
    assert "Line 3" not in said
    await anna.send("\n".join(f"https://instagram.com/p/p{n}" for n in range(51)))
    assert "That's 51 links; at most 50 at a time." in anna.last_message.text
    await anna.send(POSTS[0])
    await anna.send("a lot")
    assert "That's not a number." in anna.last_message.text
    await anna.press("1,000")
    assert "📦 Orders: 1" in anna.last_message.text
    await anna.press("✖️ Cancel")
    assert "Nothing was ordered" in anna.last_message.text
    assert tracking.panel.calls["add"] == 0


async def test_a_refused_line_is_told_and_the_rest_placed(tracking: BotHarness) -> None:
    anna = tracking.user(501, "Anna")
    await up_to_confirmation(anna)
    # 1.00 pays for two of the three (0.50, 0.25, 0.50), whichever reach the panel first.
    tracking.panel.accounts[ALICE].balance = Decimal("1.00")
    await anna.press("✅ Place 3 orders")
    outcome = anna.last_message.text
    assert "✅ Placed 2 of 3 orders" in outcome
    refused = [line for line in outcome.splitlines() if line.startswith("❌ Refused, lines ")]
    assert len(refused) == 1
    assert ": «Недостаточно средств на балансе" in refused[0]
    assert tracking.panel.calls["add"] == 3


async def test_a_restart_mid_batch_sends_only_the_lines_never_sent(tracking: BotHarness) -> None:
    anna = tracking.user(501, "Anna")
    place = await up_to_confirmation(anna)
    token = place.removeprefix("sc:")
    # As a replica killed after the first line left it: that order exists, the rest do not.
    first = tracking.panel.create_order(ALICE, "389", POSTS[0], 1000)
    await tracking.restart()
    assert tracking.services is not None
    db = tracking.services.db
    row, _ = await orders.start_submitting(
        db, token=f"{token}:0", user_id=501, chat_id=501, account=ALICE, service_id="389",
        service_name="Instagram Likes", params={"url": POSTS[0], "count": "1000"},
        quantity=1000, total=Decimal("0.50"), batch=token,
    )  # fmt: skip
    await orders.mark_placed(
        db, f"{token}:0", panel_order_id=first, charged=Decimal("0.50"), next_check_at=time.time()
    )
    await anna.press("✅ Place 3 orders")
    assert "✅ Placed 3 of 3 orders" in anna.last_message.text
    assert tracking.panel.calls["add"] == 2  # lines 2 and 3 only
    mine = await orders.of_batch(db, 501, token)
    assert [o.state is not OrderState.SUBMITTING for o in mine] == [True] * 3
    assert row.id == mine[0].id


async def test_several_links_speak_russian(tracking: BotHarness) -> None:
    ru = russian()
    ivan = tracking.user(600, "Иван", language_code="ru")
    await ivan.send("/start")
    await ivan.press_data(SeveralLinks(service=service_key("389")).pack())
    asked = ru("📋 <b>{service}</b>: several links", service="Instagram Likes")
    assert asked.replace("<b>", "").replace("</b>", "") in ivan.last_message.text
    await ivan.send("not a link")
    assert ru("Line {n}: {problem}", n="1", problem="").rstrip() in ivan.last_message.text


async def test_a_batch_ends_once_whoever_records_its_last_end(db: Database) -> None:
    """The one message when all have ended: queued by the last end, whether the tracker, the
    person's Refresh or a refusal recorded it; not before, and once."""
    await users.touch(db, 501, chat_id=501, first_name="Anna", telegram_language="en")
    assert await batches.start(db, "b1", 501, 3, summary=True)
    assert not await batches.start(db, "b1", 501, 3, summary=True)  # a second tap
    lines = []
    for line in range(3):
        order, _ = await orders.start_submitting(
            db, token=f"b1:{line}", user_id=501, chat_id=501, account=ALICE,
            service_id="389", service_name="Instagram Likes",
            params={"url": POSTS[line], "count": "1000"}, quantity=1000,
            total=Decimal("0.50"), batch="b1",
        )  # fmt: skip
        lines.append(order)
    await orders.mark_placed(
        db, "b1:0", panel_order_id="1", charged=Decimal("0.50"), next_check_at=time.time()
    )
    await orders.mark_placed(
        db, "b1:1", panel_order_id="2", charged=Decimal("0.50"), next_check_at=time.time()
    )
    done = CheckResult(OrderState.COMPLETED, "5", "", 0, None)
    await orders.record_check(db, lines[0].id, done, event=True)
    await orders.record_check(db, lines[1].id, done, event=True)  # as a Refresh would
    assert await batches.told_together(db, "b1")  # line 3 is still being sent
    await orders.mark_rejected(db, "b1:2", "Недостаточно средств на балансе")
    ended = await outbox.get(db, batches.ended_key("b1"))
    assert ended is not None
    assert ended.payload["ended"] == {"completed": 2, "rejected": 1}
    assert ended.payload["orders"] == ["1", "2"]
    assert not await batches.told_together(db, "b1")
    await orders.record_check(db, lines[0].id, done, event=True)  # again: nothing more
    rows = await db.fetchall("SELECT 1 FROM outbox WHERE kind = ?", (Kind.BATCH_ENDED,))
    assert len(rows) == 1
