"""Tracking an order placed on the panel's website, end to end: /track and the button in My
orders, through the Telegram emulator, the sandbox panel and the real bot."""

from __future__ import annotations

import asyncio
import time

from bot.sandbox.panel import Account, SandboxPanel
from storage import orders
from storage.orders import Order
from tests.conftest import ALICE, BOB, BotFactory
from tests.flows import place_order
from tests.harness import BotHarness
from tests.helpers import eventually, finished
from tests.test_accounts import connect

WEBSITE_LINK = "https://instagram.com/p/from-the-website"


def on_the_website(panel: SandboxPanel, username: str = ALICE, count: int = 2000) -> str:
    """An order placed on the panel's site: the bot has never seen it."""
    return panel.create_order(username, "389", WEBSITE_LINK, count)


async def orders_of(bot: BotHarness, user_id: int) -> list[Order]:
    assert bot.services is not None
    return await orders.list_for_user(bot.services.db, user_id, limit=50)


async def nothing_due(bot: BotHarness) -> bool:
    assert bot.services is not None
    due = "SELECT 1 FROM orders WHERE next_check_at <= ?"
    return not await bot.services.db.fetchall(due, (time.time() + 1,))


async def test_an_order_from_the_website_is_tracked_and_announced_like_the_bots_own(
    tracking: BotHarness,
) -> None:
    panel = tracking.panel
    panel_id = on_the_website(panel)
    anna = tracking.user(501, "Anna")
    await anna.send(f"/track {panel_id}")
    card = anna.last_message
    assert f"📦 Order #{panel_id}" in card.text
    assert "🌐 Placed on the website" in card.text
    assert "Instagram Likes" in card.text  # named as the catalog names service 389
    assert WEBSITE_LINK in card.text
    assert "I'll message you when it's done" in card.text
    assert card.button_labels == ["🔄 Refresh", "🔁 Order again", "🔕 Mute"]
    [order] = await orders_of(tracking, 501)
    assert order.placed_on_website
    assert (order.panel_order_id, order.quantity, order.account) == (panel_id, 2000, ALICE)
    assert order.card_message_id == card.message_id

    await anna.send("/orders")
    assert f"#{panel_id} 🌐" in anna.last_message.text

    plan = panel.orders[panel_id]
    panel.clock.advance(plan.start_after + plan.duration + 10_000)
    await eventually(lambda: finished(anna, panel_id) == 1)
    await eventually(lambda: "🔄 Refresh" not in card.button_labels)  # its card shows the end
    await asyncio.sleep(0.3)
    assert finished(anna, panel_id) == 1
    assert panel.calls["add"] == 0


async def test_the_button_asks_for_the_number_and_each_mistake_gets_an_answer(
    tracking: BotHarness,
) -> None:
    panel_id = on_the_website(tracking.panel)
    anna = tracking.user(501, "Anna")
    await anna.send("/orders")
    assert "no orders yet" in anna.last_message.text
    await anna.press("🌐 Track an order from the website")
    assert "Send the number of an order you placed on the panel's website" in (
        anna.last_message.text
    )
    await anna.send("my order from yesterday")
    assert "doesn't look like an order number" in anna.last_message.text
    await anna.send("99999")
    assert "doesn't know order #99999 on your account" in anna.last_message.text
    await anna.send(f"#{panel_id}")
    assert f"📦 Order #{panel_id}" in anna.last_message.text
    # The question is answered: what is typed now is a search, not another order's number.
    await anna.send("12345")
    assert "Nothing found for «12345»" in anna.last_message.text
    assert len(await orders_of(tracking, 501)) == 1


async def test_an_order_already_tracked_opens_its_card_and_is_added_once(
    tracking: BotHarness,
) -> None:
    anna = tracking.user(501, "Anna")
    await place_order(anna)  # through the bot: #7000000
    await anna.send("/track 7000000")
    assert "📦 Order #7000000" in anna.last_message.text
    assert "🌐" not in anna.last_message.text
    panel_id = on_the_website(tracking.panel)
    await asyncio.gather(*(anna.send(f"/track {panel_id}") for _ in range(3)))  # impatient
    await anna.send(f"/track {panel_id}")
    assert f"📦 Order #{panel_id}" in anna.last_message.text
    tracked = sorted(o.panel_order_id or "" for o in await orders_of(tracking, 501))
    assert tracked == sorted(["7000000", panel_id])  # each once


async def test_someone_elses_order_is_refused_without_asking_the_panel(
    harness: BotHarness,
) -> None:
    anna, mallory = harness.user(501, "Anna"), harness.user(502, "Mallory")
    await place_order(anna)
    website = on_the_website(harness.panel)
    await anna.send(f"/track {website}")
    await eventually(lambda: nothing_due(harness))  # the tracker's first look is over
    checks = harness.panel.calls["check"]
    for panel_id in ("7000000", website):  # both on the account the team shares
        await mallory.send(f"/track {panel_id}")
        assert f"Order #{panel_id} is not one of yours" in mallory.last_message.text
    assert harness.panel.calls["check"] == checks
    assert await orders_of(harness, 502) == []
    assert len(await orders_of(harness, 501)) == 2


async def test_an_order_of_another_panel_account_is_refused_whatever_the_panel_says(
    make_bot: BotFactory, alice: Account, bob: Account
) -> None:
    bot = make_bot(operator=None, access="open")
    async with bot.running():
        bobs_order = on_the_website(bot.panel, BOB)
        bob_himself, carol = bot.user(601, "Bob"), bot.user(602, "Carol")
        await connect(bob_himself, bob.username, bob.api_key)
        await connect(carol, alice.username, alice.api_key)
        # Not tracked by anyone yet: the panel answers for Carol's account, in its words.
        await carol.send(f"/track {bobs_order}")
        assert f"doesn't know order #{bobs_order} on your account" in carol.last_message.text
        await bob_himself.send(f"/track {bobs_order}")
        assert f"📦 Order #{bobs_order}" in bob_himself.last_message.text
        # Tracked on Bob's account: refused before the panel is asked.
        await eventually(lambda: nothing_due(bot))
        checks = bot.panel.calls["check"]
        await carol.send(f"/track {bobs_order}")
        assert f"Order #{bobs_order} isn't on your panel account." in carol.last_message.text
        assert bot.panel.calls["check"] == checks
        assert await orders_of(bot, 602) == []
        # Without a linked account there is nothing to look it up on.
        dave = bot.user(603, "Dave")
        await dave.send(f"/track {bobs_order}")
        assert "🔗 Link my SMMLaba account" in dave.last_message.button_labels


async def test_track_speaks_russian(tracking: BotHarness) -> None:
    panel_id = on_the_website(tracking.panel)
    ivan = tracking.user(600, "Иван", language_code="ru")
    await ivan.send("/track")
    assert "Пришлите номер заказа" in ivan.last_message.text
    await ivan.send(panel_id)
    assert "🌐 Размещён на сайте" in ivan.last_message.text
