"""The ordering conversation, end to end: the Telegram emulator, the sandbox panel and the real
bot (Dispatcher polling, SQLite file). Every test also fails if the bot sent any request that
Telegram would refuse (see the `harness` fixture)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from decimal import Decimal

import pytest

from bot.sandbox.catalog import builtin_catalog, synthetic_catalog
from bot.sandbox.panel import SandboxPanel
from handlers.callbacks import CategoryPage, OrderCard, ServiceCard, Step
from storage import orders
from storage.orders import OrderState
from tests.conftest import ALICE, BotFactory
from tests.flows import open_card, place_order, start_order, up_to_confirmation
from tests.harness import BotHarness
from tests.helpers import names

IG_POST = "https://www.instagram.com/p/Cx1?hl=en&b=<c>"


def placed_orders(harness: BotHarness) -> int:
    return harness.panel_calls("add")


# -- start, help, commands ---------------------------------------------------------------


async def test_start_greets_with_the_main_menu(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    reply = anna.last_message
    assert "Hi, Anna!" in reply.text
    assert "SMMLaba" in reply.text
    assert reply.button_labels == [
        "🛒 New order",
        "📦 My orders",
        "🔍 Search",
        "💰 Balance",
        "⭐ Favourites",
        "⚙️ Settings",
        "❓ Help",
    ]


async def test_help_lists_the_commands_and_they_are_registered(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/help")
    for command in ("/start", "/search", "/orders", "/balance", "/test", "/cancel"):
        assert command in anna.last_message.text
    registered = {c["command"] for c in harness.emulator.commands[("default", "")]}
    assert {"start", "search", "orders", "balance", "test", "cancel", "help"} <= registered


async def test_balance_and_connection_check(harness: BotHarness) -> None:
    harness.panel.accounts[ALICE].balance = Decimal("1250.275")
    anna = harness.user(501, "Anna")
    await anna.send("/balance")
    assert "RUB\u00a01,250.27" in anna.last_message.text  # rounded down: held, not owed
    await anna.send("/test")
    assert "Connected" in anna.last_message.text
    harness.panel.set_faults(html_rate=1.0)
    await anna.send("/balance")
    assert "isn't answering" in anna.last_message.text


# -- browsing ----------------------------------------------------------------------------


async def test_browsing_edits_one_message_and_the_card_says_everything(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await open_card(anna, "Instagram", "Likes", "Instagram Likes")
    card = anna.last_message
    assert len(anna.bot_messages) == 1  # one live message, edited in place
    assert "Instagram Likes" in card.text
    assert "RUB\u00a00.50 per 1,000" in card.text
    assert "Quantity: 50 – 10,000" in card.text
    assert "Link, Quantity" in card.text
    assert card.button_labels == [
        "🛒 Order this",
        "📋 Several links",
        "☆ Add to favourites",
        "📤 Share",
        "⬅️ Back",
        "✖️ Cancel",
    ]


async def test_back_at_every_level(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna, "Instagram", "Likes", "Instagram Likes")
    await anna.send("https://instagram.com/p/x")
    assert "Step 2 of 2" in anna.last_message.text
    await anna.press("⬅️ Back")
    assert "Step 1 of 2" in anna.last_message.text
    assert "Now: https://instagram.com/p/x" in anna.last_message.text
    await anna.press("⬅️ Back")
    assert "You'll be asked for" in anna.last_message.text  # the service card
    await anna.press("⬅️ Back")
    assert "Choose a service" in anna.last_message.text
    await anna.press("⬅️ Back")
    assert "Choose a category" in anna.last_message.text
    await anna.press("⬅️ Back")
    assert "Choose a platform" in anna.last_message.text
    await anna.press("⬅️ Back")
    assert "What would you like to do?" in anna.last_message.text
    assert placed_orders(harness) == 0


async def test_long_lists_page(harness: BotHarness) -> None:
    harness.panel.set_catalog(synthetic_catalog(3000, seed=2))
    assert harness.services is not None
    assert harness.services.accounts.operator is not None
    await harness.services.accounts.operator.catalog.refresh()
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    await anna.press("🛒 New order")
    assert "1/1" not in anna.last_message.button_labels
    await anna.press("Instagram (375)")
    await anna.press("Likes (47)")
    first_page = anna.last_message.button_labels
    assert "1/6" in first_page
    await anna.press("▶️")
    second_page = anna.last_message.button_labels
    assert "2/6" in second_page
    services = [label for label in first_page if label.startswith("Instagram Likes #")]
    assert len(services) == 8
    assert set(services).isdisjoint(second_page)
    await anna.press("▶️")
    await anna.press("◀️")
    assert anna.last_message.button_labels == second_page
    await anna.press(next(label for label in second_page if label.startswith("Instagram")))
    assert "You'll be asked for" in anna.last_message.text
    for label in anna.last_message.button_labels:
        assert len(label) <= 30
    await anna.press("⬅️ Back")
    # A page past the end (a pager button kept while the catalog shrank) shows the last one.
    forward = anna.last_message.find_button("▶️")
    assert forward is not None
    assert forward.callback_data is not None
    beyond = CategoryPage.unpack(forward.callback_data).model_copy(update={"page": 99})
    await anna.press_data(beyond.pack())
    last_page = anna.last_message.button_labels
    assert "6/6" in last_page
    assert "▶️" not in last_page


# -- full orders of differently shaped services ------------------------------------------


async def test_order_with_link_and_amount(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna, "Instagram", "Likes", "Instagram Likes")
    prompt = anna.last_message
    assert "Step 1 of 2" in prompt.text
    assert "Send the link, e.g. https://www.instagram.com/p/…" in prompt.text
    assert prompt.button_labels == ["⬅️ Back", "✖️ Cancel"]
    await anna.send(IG_POST)
    await anna.send("250")
    check = anna.last_message
    assert "Please check your order" in check.text
    assert IG_POST in check.text  # escaped on the way out, shown literally
    # The total exact, the balance rounded down.
    assert "Total: RUB\u00a00.125 · balance after: RUB\u00a0999.87" in check.text
    assert check.button_labels == ["✅ Confirm", "✏️ Change", "✖️ Cancel"]
    await anna.press("✅ Confirm")

    result = anna.last_message
    assert result.message_id == check.message_id  # the confirmation became the order's card
    assert "📦 Order #7000000" in result.text
    assert "💵 RUB\u00a00.125 · " in result.text
    assert "State: placed" in result.text
    # Its buttons act on the order: Confirm can't be pressed again.
    assert result.button_labels == ["🔄 Refresh", "🔁 Order again", "🔕 Mute"]
    # The balance was asked for while the amount was typed, and only then.
    assert harness.panel_calls("balance") == 1
    request = harness.panel.requests[-1]
    assert (request.action, request.fields) == (
        "add",
        {"service": "389", "url": IG_POST, "count": "250"},
    )
    assert harness.services is not None
    stored = await orders.list_for_user(harness.services.db, 501, limit=5)
    assert [(o.state, o.panel_order_id, o.total) for o in stored] == [
        (OrderState.PLACED, "7000000", Decimal("0.125"))
    ]


async def test_order_with_a_choice(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna, "Telegram", "Reactions", "Telegram Post Reactions")
    await anna.send("https://t.me/channel/15")
    await anna.send("1 000")
    assert "Choose one" in anna.last_message.text
    assert anna.last_message.button_labels[:5] == ["👍", "❤️", "🔥", "🎉", "😁"]
    await anna.press("🔥")
    assert "Reaction: 🔥" in anna.last_message.text
    assert "Total: RUB\u00a025.00" in anna.last_message.text
    await anna.press("✅ Confirm")
    assert "placed" in anna.last_message.text
    assert harness.panel.requests[-1].fields == {
        "service": "403",
        "url": "https://t.me/channel/15",
        "count": "1000",
        "reaction": "🔥",
    }


async def test_order_with_optional_fields_skipped(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna, "TikTok", "Views", "TikTok Views · drip-feed")
    await anna.send("https://vm.tiktok.com/ZM123")
    await anna.send("2000")
    assert "optional" in anna.last_message.text
    await anna.press("⏭ Skip")
    assert "Step 4 of 4" in anna.last_message.text
    await anna.press("⏭ Skip")
    assert "Runs" not in anna.last_message.text
    await anna.press("✅ Confirm")
    assert "placed" in anna.last_message.text
    assert harness.panel.requests[-1].fields == {
        "service": "423",
        "url": "https://vm.tiktok.com/ZM123",
        "count": "2000",
    }


async def test_order_with_multiline_comments(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna, "Instagram", "Comments", "Instagram Custom Comments")
    await anna.send("https://instagram.com/p/abc")
    prompt = anna.last_message.text
    assert "one per line" in prompt
    assert "each comment on a new line, from 5 to 500 comments" in prompt  # the rule as a hint
    comments = "Great!\nLove it 😍\nWow & wow\n<3 this\nНичего себе"
    await anna.send(comments)
    assert "(+4 more lines)" in anna.last_message.text
    assert "Total: RUB\u00a012.50" in anna.last_message.text
    await anna.press("✅ Confirm")
    assert "placed" in anna.last_message.text
    assert harness.panel.requests[-1].fields["comments"] == comments


# -- invalid input -----------------------------------------------------------------------


async def test_every_kind_of_invalid_input_reprompts(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna, "Telegram", "Reactions", "Telegram Post Reactions")
    await anna.send("http://t.me.example.com")  # no fragment matches
    assert anna.last_message.text.startswith("⚠️ That's not a link to t.me.\nStep 1 of 3")
    await anna.send("https://t.me/channel/15")
    for bad, reason in (
        ("lots", "That's not a number."),
        ("9", "9 is below the minimum of 10."),
        ("50001", "50,001 is above the maximum of 50,000."),
        ("12.5", "12.5 isn't a whole number."),
        ("1,5", "1,5 isn't a whole number."),
    ):
        await anna.send(bad)
        assert anna.last_message.text.startswith(f"⚠️ {reason}\n✓ Link: "), bad
        assert "\nStep 2 of 3 · Quantity\n" in anna.last_message.text, bad
    await anna.send("10")
    await anna.send("💩")  # a choice typed instead of pressed, and not one of them
    assert anna.last_message.text.startswith(
        "⚠️ That's not one of the choices: tap a button below.\n"
    )
    assert "\nStep 3 of 3" in anna.last_message.text
    await anna.send("❤")  # a valid choice typed (here without its emoji variation) is taken
    assert "Please check your order" in anna.last_message.text
    # Only the live message has buttons: nothing stale can be pressed.
    assert [m.message_id for m in anna.bot_messages if m.button_labels] == [
        anna.last_message.message_id
    ]
    assert placed_orders(harness) == 0


async def test_a_panel_rule_the_bot_cannot_read_is_a_hint(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna, "Telegram", "Poll votes", "Telegram Poll Votes")
    await anna.send("https://t.me/chan/7")
    await anna.send("100")
    assert "answer number in the poll, counting from the top" in anna.last_message.text
    await anna.send("2")
    await anna.press("✅ Confirm")
    assert harness.panel.requests[-1].fields["answer"] == "2"


async def test_text_outside_a_conversation_is_a_search(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("hello?")
    assert "Nothing found for «hello?»" in anna.last_message.text
    await anna.send("/nonsense")
    assert "I didn't get that" in anna.last_message.text


# -- cancel, change ----------------------------------------------------------------------


async def test_cancel_mid_wizard(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna, "Instagram", "Likes", "Instagram Likes")
    await anna.send("https://instagram.com/p/x")
    await anna.send("/cancel")
    assert "Cancelled" in anna.last_message.text
    await anna.send("250")  # no longer an answer to anything: a search
    assert "Nothing found for «250»" in anna.last_message.text
    await anna.send("/cancel")
    assert "Nothing to cancel" in anna.last_message.text
    assert placed_orders(harness) == 0


async def test_cancel_button_in_the_wizard(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna, "Instagram", "Likes", "Instagram Likes")
    await anna.press("✖️ Cancel")
    assert "Order cancelled" in anna.last_message.text
    assert "🛒 New order" in anna.last_message.button_labels


async def test_change_a_value_from_the_confirmation(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")
    await anna.press("✏️ Change")
    assert anna.last_message.button_labels == ["✏️ Link", "✏️ Quantity", "⬅️ Back"]
    await anna.press("⬅️ Back")
    assert "Please check your order" in anna.last_message.text
    await anna.press("✏️ Change")
    await anna.press("✏️ Quantity")
    assert "Now: 250" in anna.last_message.text
    await anna.press("⬅️ Back")  # back to the confirmation, value kept
    assert "Quantity: 250" in anna.last_message.text
    await anna.press("✏️ Change")
    await anna.press("✏️ Quantity")
    await anna.send("1000")
    assert "Quantity: 1000" in anna.last_message.text
    assert "Total: RUB\u00a00.50" in anna.last_message.text
    await anna.press("✅ Confirm")
    assert harness.panel.requests[-1].fields["count"] == "1000"


# -- placing exactly once ----------------------------------------------------------------


async def test_double_and_triple_taps_place_one_order(harness: BotHarness) -> None:
    for user_id, taps in ((601, 2), (602, 3)):
        user = harness.user(user_id, f"User{user_id}")
        await up_to_confirmation(user, amount="100")
        confirmation = user.last_message
        before = placed_orders(harness)
        updates = [
            await user.press("✅ Confirm", message=confirmation, wait=False) for _ in range(taps)
        ]
        await asyncio.gather(*(harness.emulator.wait_handled(u) for u in updates))
        assert placed_orders(harness) == before + 1
        assert sum("placed" in m.text for m in user.bot_messages) == 1
        assert "This order was already sent." in user.callback_answers


async def test_a_confirm_pressed_again_later_does_not_order_again(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="100")
    confirmation = anna.last_message
    confirm_data = confirmation.buttons[0][0].callback_data
    assert confirm_data is not None
    await anna.press("✅ Confirm")
    await anna.send("/start")
    await anna.press_data(confirm_data, message=confirmation)  # a replayed old button
    assert placed_orders(harness) == 1
    assert anna.callback_answers[-1] == "This order was already sent."


# -- the panel's refusals and silences --------------------------------------------------


async def test_a_refused_link_is_fixed_without_starting_over(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, link="https://instagram.com/p/abc", amount="300")
    # The panel's rule has narrowed since the bot read the catalog: the panel has the last word.
    catalog = builtin_catalog()
    [likes] = [service for service in catalog if service["service"] == 389]
    likes["params"][0]["valid"] = "value need to consist of : https://www.instagram.com and /p/"
    harness.panel.set_catalog(catalog)
    await anna.press("✅ Confirm")
    refusal = anna.last_message
    assert "❌ The panel didn't accept the link.\nNothing was ordered or charged." in refusal.text
    assert refusal.button_labels == ["✏️ Fix", "✖️ Cancel"]
    await anna.press("✏️ Fix")
    assert "Step 1 of 2 · Link" in anna.last_message.text
    await anna.send("https://www.instagram.com/p/abc")
    assert "Quantity: 300" in anna.last_message.text  # nothing else was lost
    await anna.press("✅ Confirm")
    assert "placed" in anna.last_message.text
    assert placed_orders(harness) == 2
    assert harness.services is not None
    states = [o.state for o in await orders.list_for_user(harness.services.db, 501, limit=5)]
    assert states == [OrderState.PLACED, OrderState.REJECTED]


async def test_a_short_balance_the_panel_refuses_anyway_is_fixed(harness: BotHarness) -> None:
    # The balance fell between the confirmation and the tap (see test_say_no for the
    # confirmation that already knows): the panel's refusal, then the fix.
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")
    harness.panel.accounts[ALICE].balance = Decimal("0.10")
    await anna.press("✅ Confirm")
    assert "❌ Not enough money on your panel balance." in anna.last_message.text
    harness.panel.accounts[ALICE].balance = Decimal("100")  # topped up on the panel
    await anna.press("✏️ Fix")
    assert "Which value" in anna.last_message.text
    await anna.press("⬅️ Back")
    assert "balance after: RUB\u00a099.87" in anna.last_message.text
    await anna.press("✅ Confirm")
    assert "State: placed" in anna.last_message.text


async def test_an_add_timeout_is_uncertain_and_never_retried(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")
    harness.panel.set_faults(hang_rate=1.0, actions=["add"])
    await anna.press("✅ Confirm")
    assert "may or may not exist" in anna.last_message.text
    assert "✅ It's on the panel" in anna.last_message.button_labels
    assert placed_orders(harness) == 1
    assert harness.services is not None
    [order] = await orders.list_for_user(harness.services.db, 501, limit=5)
    assert order.state is OrderState.UNCERTAIN
    assert order.next_check_at is None
    await anna.send("/orders")
    assert "unknown — check the panel" in anna.last_message.text


async def test_catalog_unavailable_without_cache_says_so(
    make_bot: BotFactory, panel: SandboxPanel
) -> None:
    panel.set_faults(html_rate=1.0)  # down since before the first start: nothing cached
    bot = make_bot()
    async with bot.running():
        anna = bot.user(501, "Anna")
        await anna.send("/start")
        await anna.press("🛒 New order")
        assert "catalog isn't available right now" in anna.last_message.text
        panel.set_faults()  # back up: the next click fetches it
        await anna.press("🏠 Menu")
        await anna.press("🛒 New order")
        assert "Choose a platform" in anna.last_message.text


# -- restarts, stale and forged input ----------------------------------------------------


async def test_a_restart_mid_wizard_continues_at_the_same_step(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna, "Telegram", "Reactions", "Telegram Post Reactions")
    await anna.send("https://t.me/chan/1")
    harness.panel.set_faults(html_rate=1.0, actions=["services"])  # the cache must serve
    await harness.restart()
    assert "Step 2 of 3" in anna.last_message.text
    await anna.send("500")
    await anna.press("❤️")
    check = anna.last_message.text
    assert "https://t.me/chan/1" in check
    assert "Quantity: 500" in check
    await anna.press("✅ Confirm")
    assert "placed" in anna.last_message.text


async def test_each_step_is_on_disk_once_it_is_answered(harness: BotHarness) -> None:
    # What a crash right after this step would leave: read the file from outside the bot.
    anna = harness.user(501, "Anna")
    await start_order(anna, "Telegram", "Reactions", "Telegram Post Reactions")
    await anna.send("https://t.me/chan/1")
    with sqlite3.connect(harness.settings.database_path) as outside:
        state, data = outside.execute("SELECT state, data FROM fsm WHERE user_id = 501").fetchone()
    assert state == "OrderWizard:entering"
    wizard = json.loads(data)
    assert wizard["step"] == 1
    assert "https://t.me/chan/1" in wizard["values"].values()
    assert wizard["live"] == anna.last_message.message_id


async def test_stale_and_unknown_buttons_expire_politely(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    await anna.press_data(ServiceCard(service="no-such-service").pack())
    assert anna.callback_answers[-1] == "This service is no longer offered."
    assert "What would you like to do?" in anna.last_message.text
    await anna.press_data("garbage:that:no:handler:knows")
    assert anna.callback_answers[-1] == "This menu has expired"
    await anna.press_data(Step(action="pick", index=3).pack())  # a wizard button, no wizard
    assert anna.callback_answers[-1] == "This menu has expired"
    await anna.press_data("x" * 64)
    assert anna.callback_answers[-1] == "This menu has expired"


async def test_a_service_gone_from_the_catalog_ends_the_wizard_cleanly(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna, "Instagram", "Likes", "Instagram Likes")
    await anna.send("https://instagram.com/p/x")
    harness.panel.set_catalog([s for s in builtin_catalog() if s["service"] != 389])
    assert harness.services is not None
    assert harness.services.accounts.operator is not None
    await harness.services.accounts.operator.catalog.refresh()
    await anna.send("100")
    assert "no longer offered" in anna.last_message.text
    assert placed_orders(harness) == 0


async def test_someone_elses_order_is_never_shown(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await place_order(anna, link="https://instagram.com/p/secret-post", amount="100")
    assert harness.services is not None
    [order] = await orders.list_for_user(harness.services.db, 501, limit=1)

    mallory = harness.user(666, "Mallory")
    await mallory.send("/start")
    checks = harness.panel_calls("check")
    for action in ("show", "refresh", "again", "mute", "unmute"):
        await mallory.press_data(OrderCard(order=order.id, action=action).pack())
        assert mallory.callback_answers[-1] == "Order not found"
    assert all("secret-post" not in m.text for m in mallory.bot_messages)
    assert harness.panel_calls("check") == checks  # her Refresh asked the panel nothing
    after = await orders.get_for_user(harness.services.db, 501, order.id)
    assert after is not None
    assert not after.muted  # nor did her mute touch Anna's order
    await mallory.send("/cancel")
    assert "Nothing to cancel" in mallory.last_message.text  # and "again" started no wizard
    await mallory.send("/orders")
    assert "no orders yet" in mallory.last_message.text
    assert placed_orders(harness) == 1


async def test_panel_text_is_shown_literally(harness: BotHarness) -> None:
    catalog = builtin_catalog()
    catalog[0] = {
        **catalog[0],
        "product_name": "Likes <b>fast</b> & cheap",
        "category": "Insta<gram>. A&B. ",
    }
    # Two services: a category of one would open its service at once.
    catalog[1] = {**catalog[1], "category": "Insta<gram>. A&B. "}
    harness.panel.set_catalog(catalog)
    assert harness.services is not None
    assert harness.services.accounts.operator is not None
    await harness.services.accounts.operator.catalog.refresh()
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    await anna.press("🛒 New order")
    await anna.press("Insta<gram> (2)")
    await anna.press("A&B")
    assert "🛒 Insta<gram> › A&B" in anna.last_message.text
    await anna.press("Likes <b>fast</b> & cheap · RUB\u00a00.50/1K")
    assert anna.last_message.text.startswith("Likes <b>fast</b> & cheap\n")
    await anna.send("/search cheap")
    assert "Likes <b>fast</b> & cheap" in names(anna.last_message.button_labels)


async def test_an_unexpected_failure_is_logged_and_explained(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    harness.emulator.fail_next("editMessageText", 500)
    await anna.press("🛒 New order")
    assert anna.last_message.text == "Something went wrong on my side — please try again."
    assert anna.callback_answers == [""]  # the tap itself was answered too
    failures = [r for r in caplog.records if r.name == "handlers.errors"]
    assert len(failures) == 1
    assert "Internal Server Error" in failures[0].getMessage()
    menu = anna.bot_messages[0]
    await anna.press("🛒 New order", message=menu)  # and the bot carries on
    assert "Choose a platform" in menu.text


async def test_a_prompt_or_card_telegram_refuses_to_touch_does_not_stop_the_order(
    harness: BotHarness,
) -> None:
    # Deleting the answered prompt and editing the confirmation into the card are cosmetic:
    # Telegram refusing them (a 500 here) must not cost the step or the word about the order.
    anna = harness.user(501, "Anna")
    await start_order(anna, "Instagram", "Likes", "Instagram Likes")
    prompt = anna.last_message
    harness.emulator.fail_next("deleteMessage", 500)
    await anna.send("https://instagram.com/p/x")
    assert "Step 2 of 2" in anna.last_message.text
    assert prompt.text == "✓ Link: https://instagram.com/p/x"  # left as the record instead
    await anna.send("1000")
    confirmation = anna.last_message
    harness.emulator.fail_next("editMessageText", 500)
    await anna.press("✅ Confirm")
    assert "State: placed" in anna.last_message.text  # the card, as a message of its own
    assert anna.last_message.message_id != confirmation.message_id


# -- search ------------------------------------------------------------------------------


async def test_search_in_english(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/search tiktok VIEWS")
    labels = names(anna.last_message.button_labels)
    assert labels[0] == "TikTok Views"
    assert "TikTok Views · drip-feed" in labels
    assert all("TikTok" in label for label in labels[:-2])
    await anna.press(anna.last_message.button_labels[0])
    assert "You'll be asked for" in anna.last_message.text


async def test_search_in_russian(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna", language_code="ru")
    await anna.send("/search лайки инстаграм")
    labels = names(anna.last_message.button_labels)
    assert labels[0] == "Instagram Likes"
    assert all("Instagram Likes" in label for label in labels[:-2])
    assert anna.last_message.button_labels[0] == "Instagram Likes · 0,50\u00a0₽/тыс."


async def test_search_by_button_and_nothing_found(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    await anna.press("🔍 Search")
    assert "What are you looking for?" in anna.last_message.text
    await anna.send("zzz <nothing> & more")
    assert "Nothing found for «zzz <nothing> & more»" in anna.last_message.text
    await anna.press("🔍 Search again")
    await anna.send("youtube subscribers")
    assert names(anna.last_message.button_labels)[0] == "YouTube Subscribers"


async def test_a_command_while_search_waits_for_words_is_a_command(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    await anna.press("🔍 Search")
    await anna.send("/orders")
    assert anna.last_message.text == "📦 You have no orders yet."


# -- my orders ---------------------------------------------------------------------------


async def test_my_orders_card_refresh_and_order_again(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await place_order(anna, link="https://instagram.com/p/x", amount="1000")
    card = anna.last_message  # the confirmation, now the order's card
    assert "Order #7000000" in card.text
    assert "https://instagram.com/p/x" in card.text
    assert "State: placed" in card.text

    harness.panel.clock.advance(10_000)
    await anna.press("🔄 Refresh")
    status, remain = harness.panel.order_status("7000000")
    ended = {5: "completed", 7: "cancelled", 11: "refunded"}[status]
    # In the bot's words: the panel's («Сделка завершена») only for a code the bot doesn't know.
    assert f"State: {ended}" in anna.last_message.text or "partly" in anna.last_message.text
    assert "«" not in anna.last_message.text
    assert f"{1000 - remain:,} of 1,000" in anna.last_message.text

    await anna.press("🔁 Order again")
    assert "Please check your order" in anna.last_message.text
    assert "Quantity: 1000" in anna.last_message.text
    await anna.press("✅ Confirm")
    assert "Order #7000001" in anna.last_message.text

    await anna.send("/orders")
    listing = anna.last_message.text
    assert listing.index("#7000001") < listing.index("#7000000")  # newest first


async def test_refresh_reads_status_codes_as_configured(
    make_bot: BotFactory, panel: SandboxPanel
) -> None:
    # This panel's 1 means the order has started.
    bot = make_bot(smmlaba_status_map={"1": "in_progress"})
    async with bot.running():
        anna = bot.user(501, "Anna")
        await place_order(anna, link="https://instagram.com/p/x", amount="1000")
        assert panel.order_status("7000000")[0] == 1
        await anna.press("🔄 Refresh")
        assert "State: in progress" in anna.last_message.text


async def test_my_orders_pages(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    for _ in range(7):
        await place_order(anna, link="https://instagram.com/p/x", amount="100")
    await anna.send("/orders")
    assert "page 1/2" in anna.last_message.text
    assert "#7000006" in anna.last_message.text
    await anna.press("▶️")
    assert "page 2/2" in anna.last_message.text
    assert "#7000000" in anna.last_message.text


async def test_only_allowed_people_get_in(make_bot: BotFactory, panel: SandboxPanel) -> None:
    bot = make_bot(allowed_users=frozenset({501}), admin_ids=frozenset({502}))
    async with bot.running():
        for user_id in (501, 502):
            member = bot.user(user_id, "Member")
            await member.send("/start")
            assert "🛒 New order" in member.last_message.button_labels
        stranger = bot.user(999, "Stranger")
        await stranger.send("/start")
        assert stranger.last_message.text == (
            "This bot is private. Your Telegram id is 999 — send it to the bot's owner "
            "if you should have access."
        )
        assert stranger.last_message.button_labels == []
        calls = sum(panel.calls.values())
        await stranger.send("/balance")
        await stranger.press_data("m:new")
        assert sum(panel.calls.values()) == calls  # an outsider costs the panel nothing
        assert "private" in stranger.callback_answers[-1]


async def test_orders_in_the_middle_of_an_order_keeps_the_order(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna)
    await anna.send("/orders")
    assert "no orders yet" in anna.last_message.text
    await anna.send("https://instagram.com/p/x")  # a command works in the middle of a form
    assert "Step 2 of 2" in anna.last_message.text


async def test_cancel_on_an_older_order_message_leaves_the_current_order(
    harness: BotHarness,
) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna)
    first = anna.last_message
    await start_order(anna, "TikTok", "Views", "TikTok Views")
    await anna.press("✖️ Cancel", message=first)
    assert anna.callback_answers[-1] == "This menu has expired"
    await anna.send("https://www.tiktok.com/@anna/video/1")
    assert "Step 2 of" in anna.last_message.text
    assert "TikTok Views" in anna.last_message.text
