"""Money never in doubt: every fault between Confirm and the person's screen, end to end through
the Telegram emulator, the sandbox panel and the real bot on a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.catalog import builtin_catalog
from bot.sandbox.panel import Account, SandboxPanel
from bot.sandbox.panel import serve as serve_panel
from bot.sandbox.telegram import QUERY_TOO_OLD, SimulatedUser, TelegramEmulator
from bot.smmlaba.pool import LANES, RESERVED
from bot.tracker import TrackerConfig
from storage import orders, outbox
from storage.orders import Order, OrderState
from tests.conftest import ALICE, BotFactory
from tests.flows import up_to_confirmation
from tests.harness import BotHarness
from tests.helpers import eventually, said

TRY_AGAIN = "try again"


async def only_order(harness: BotHarness, user_id: int) -> Order:
    assert harness.services is not None
    [order] = await orders.list_for_user(harness.services.db, user_id, limit=5)
    return order


# -- 1. Telegram refuses the answer after a successful `add` -----------------------------


async def test_the_order_id_reaches_the_chat_through_429s_and_a_stale_tap(
    harness: BotHarness,
) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")
    emulator = harness.emulator
    emulator.fail_next("sendMessage", 429, count=2, retry_after=1)
    emulator.fail_next("editMessageText", 429, count=2, retry_after=1)
    emulator.fail_next("editMessageReplyMarkup", 429, count=2, retry_after=1)
    emulator.fail_next("answerCallbackQuery", 400, description=QUERY_TOO_OLD)
    tapped = time.monotonic()
    confirmation = anna.last_message
    await anna.press("✅ Confirm")

    order = await only_order(harness, 501)
    assert order.state is OrderState.PLACED
    assert order.panel_order_id is not None
    card = f"📦 Order #{order.panel_order_id}"
    # The confirmation could not become the card (a 429): the notifier sends the card as a
    # message of its own, through two more 429s of one second each, on its next turn.
    await eventually(lambda: said(anna, card), within=7)
    assert time.monotonic() - tapped < 1 + 1 + 1 + 4
    assert harness.panel_calls("add") == 1
    assert TRY_AGAIN not in anna.transcript
    assert "went wrong" not in anna.transcript
    # Telegram accepted it once: the outbox row is sent, never to be sent again (recorded
    # once Telegram's answer is back, a moment after the chat shows the message).
    assert harness.services is not None
    db = harness.services.db

    async def recorded_sent() -> bool:
        message = await outbox.get(db, f"order:{order.id}:order_placed")
        return message is not None and message.status is outbox.OutboxStatus.SENT

    await eventually(recorded_sent)
    [shown] = [m for m in anna.bot_messages if card in m.text]
    assert "State: placed" in shown.text
    assert shown.message_id != confirmation.message_id
    # The card followed the message it came in.
    assert (await only_order(harness, 501)).card_message_id == shown.message_id
    # The confirmation left behind places nothing a second time.
    await anna.press("✅ Confirm", message=confirmation)
    assert anna.callback_answers[-1] == "This order was already sent."
    assert harness.panel_calls("add") == 1
    assert len([m for m in anna.bot_messages if card in m.text]) == 1


async def test_a_refusal_that_cannot_be_shown_is_told_through_the_outbox(
    harness: BotHarness,
) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")
    # Spent elsewhere after the confirmation showed a balance that covered it: only the
    # panel can refuse now.
    harness.panel.accounts[ALICE].balance = Decimal("0.01")
    harness.emulator.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    await anna.press("✅ Confirm")

    await eventually(lambda: said(anna, "Not enough money on your panel balance"), within=5)
    assert "Nothing was ordered or charged." in anna.last_message.text
    assert TRY_AGAIN not in anna.transcript
    assert (await only_order(harness, 501)).state is OrderState.REJECTED


# -- 2. The panel took the order and the local write failed ------------------------------

FAIL_PLACED = """
CREATE TRIGGER fail_placed BEFORE UPDATE OF state ON orders WHEN NEW.state = 'placed'
BEGIN SELECT RAISE(ABORT, 'disk I/O error (injected)'); END
"""


def storage_fault(harness: BotHarness, on: bool) -> None:
    """Make the database refuse to record a placed order, from another connection, as a
    full disk or a broken file would; `on=False` heals it."""
    with sqlite3.connect(harness.settings.database_path) as raw:
        raw.execute(FAIL_PLACED if on else "DROP TRIGGER fail_placed")


async def test_an_order_the_database_could_not_record_is_logged_told_and_repaired(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")
    storage_fault(harness, on=True)
    with caplog.at_level(logging.WARNING, logger="bot.ordering"):
        await anna.press("✅ Confirm")

    [panel_id] = list(harness.panel.orders)
    journal = [r for r in caplog.records if "panel took order" in r.getMessage()]
    assert len(journal) == 1
    assert journal[0].levelno == logging.WARNING
    assert panel_id in journal[0].getMessage()
    assert "0.125" in journal[0].getMessage()  # the price the panel charged
    assert f"Order #{panel_id} is on the panel" in anna.last_message.text
    assert TRY_AGAIN not in anna.transcript
    order = await only_order(harness, 501)
    assert order.state is OrderState.SUBMITTING  # not given up on: the answer is kept
    await anna.send("/orders")
    await anna.press("№1")
    assert "🔁 Order again" not in anna.last_message.button_labels  # not while it is settled

    storage_fault(harness, on=False)
    await eventually(lambda: said(anna, f"📦 Order #{panel_id}"), within=10)
    [card] = [m for m in anna.bot_messages if f"📦 Order #{panel_id}" in m.text]
    assert "State: placed" in card.text  # told once recorded, as a card of its own
    order = await only_order(harness, 501)
    assert (order.state, order.panel_order_id) == (OrderState.PLACED, panel_id)
    assert order.next_check_at is not None  # tracked like any other
    assert harness.panel_calls("add") == 1


# -- 3. An order that never got an answer --------------------------------------------------


async def unanswered_order(bot: BotHarness, user: SimulatedUser, **fault: float) -> None:
    """`user` confirms an order while the panel fails `add` with `fault` (it never answers)."""
    await up_to_confirmation(user, amount="250")
    bot.panel.set_faults(actions=["add"], hang_seconds=5, **fault)
    await user.press("✅ Confirm")
    bot.panel.set_faults()


async def test_an_unanswered_order_is_settled_as_found_on_the_panel(
    make_bot: BotFactory,
) -> None:
    bot = make_bot(smmlaba_timeout_seconds=0.5)
    async with bot.running():
        anna = bot.user(501, "Anna")
        await unanswered_order(bot, anna, lost_answer_rate=1.0)
        assert "may or may not exist" in anna.last_message.text
        [panel_id] = list(bot.panel.orders)  # the panel took it; the bot never heard

        await anna.press("✅ It's on the panel")
        assert "Send the order's number" in anna.last_message.text
        await anna.send("not sure")
        assert "doesn't look like an order number" in anna.last_message.text
        await anna.send("99999")
        assert "doesn't know order #99999" in anna.last_message.text
        await anna.send(f"#{panel_id}")
        found = anna.last_message.text
        assert f"The panel knows order #{panel_id}" in found
        assert "https://instagram.com/p/x" in found
        assert "250" in found
        await anna.press("✅ Yes, track it")
        order = await only_order(bot, 501)
        assert (order.state, order.panel_order_id) == (OrderState.PLACED, panel_id)
        assert order.next_check_at is not None
        assert "placed" in anna.last_message.text
        assert bot.panel_calls("add") == 1


async def test_an_unanswered_order_not_on_the_panel_is_ordered_again(
    make_bot: BotFactory,
) -> None:
    bot = make_bot(smmlaba_timeout_seconds=0.5)
    async with bot.running():
        anna = bot.user(501, "Anna")
        await unanswered_order(bot, anna, hang_rate=1.0)  # the panel never saw it
        await anna.send("/orders")
        await anna.press("№1")
        assert "unknown" in anna.last_message.text
        await anna.press("✖️ It isn't there")
        assert "nothing was ordered or charged" in anna.last_message.text
        assert (await only_order(bot, 501)).state is OrderState.NOT_PLACED
        await anna.press("🔁 Order again")
        assert "Please check your order" in anna.last_message.text
        assert "https://instagram.com/p/x" in anna.last_message.text
        await anna.press("✅ Confirm")
        assert "placed" in anna.last_message.text


async def test_a_row_left_sending_becomes_uncertain_and_its_person_is_told(
    make_bot: BotFactory,
) -> None:
    """What a crash during `add` leaves behind: a `submitting` row nobody will answer."""
    bot = make_bot(smmlaba_timeout_seconds=0.5)
    anna = bot.user(501, "Anna")
    async with bot.running():
        await anna.send("/start")
        assert bot.services is not None
        await orders.start_submitting(
            bot.services.db,
            token="crashed",
            user_id=501,
            chat_id=501,
            account=ALICE,
            service_id="ig-likes",
            service_name="Instagram Likes",
            params={"url": "https://instagram.com/p/x", "count": "250"},
            quantity=250,
            total=Decimal("0.125"),
        )
        await eventually(lambda: said(anna, "may or may not exist"), within=10)
        order = await only_order(bot, 501)
        assert order.state is OrderState.UNCERTAIN
        await anna.send("/orders")
        assert "sending" not in anna.last_message.text


# -- 4. The total charged is the total shown ---------------------------------------------


async def likes_changed(harness: BotHarness, change: Callable[[dict[str, Any]], None]) -> None:
    """The panel changes Instagram Likes with `change`, and the bot's catalog is refreshed."""
    catalog = builtin_catalog()
    [likes] = [s for s in catalog if s["product_name"] == "Instagram Likes"]
    change(likes)
    harness.panel.set_catalog(catalog)
    assert harness.services is not None
    assert harness.services.accounts.operator is not None
    await harness.services.accounts.operator.catalog.refresh()


async def test_a_price_change_after_the_confirmation_places_nothing(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")
    assert "Total: RUB\u00a00.125" in anna.last_message.text
    await likes_changed(harness, lambda likes: likes.update(price="50.00 per 100"))

    await anna.press("✅ Confirm")
    assert harness.panel_calls("add") == 0
    screen = anna.last_message.text
    assert "The price changed" in screen
    assert "Total: RUB\u00a0125.00" in screen
    assert "Please check your order" in screen

    await anna.press("✅ Confirm")
    assert harness.panel_calls("add") == 1
    order = await only_order(harness, 501)
    assert order.total == Decimal("125.00")
    assert order.charged == Decimal("125.00")


# -- 7. An `add` that never left the process -----------------------------------------------


async def test_an_add_that_was_never_sent_says_so_and_can_be_confirmed_again(
    telegram: tuple[TelegramEmulator, str], panel: SandboxPanel, alice: Account, tmp_path: Path
) -> None:
    emulator, telegram_url = telegram
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    panel_url = f"http://127.0.0.1:{port}/vkapi/v1/"
    bot = BotHarness(emulator, telegram_url, panel, panel_url, alice, tmp_path / "bot.db")
    anna = bot.user(501, "Anna")
    async with serve_panel(panel, port=port):
        await bot.start()
        await up_to_confirmation(anna, amount="250")
    try:
        # The panel's server is gone: no connection can be opened, so nothing left.
        await anna.press("✅ Confirm")
        screen = anna.last_message.text
        assert "was not sent" in screen
        assert "Nothing was ordered" in screen
        assert "Please check your order" in screen
        assert "may or may not" not in anna.transcript
        assert bot.services is not None
        assert await orders.list_for_user(bot.services.db, 501, limit=5) == []
        assert panel.calls["add"] == 0

        async with serve_panel(panel, port=port):
            await anna.press("✅ Confirm")
            assert "placed" in anna.last_message.text
            assert panel.calls["add"] == 1
    finally:
        await bot.stop()
    assert not emulator.violations


async def test_confirm_reaches_the_panel_while_hung_checks_hold_every_other_connection(
    make_bot: BotFactory, panel: SandboxPanel
) -> None:
    bot = make_bot(smmlaba_timeout_seconds=8.0, tracker=TrackerConfig(concurrency=LANES))
    anna = bot.user(501, "Anna")
    async with bot.running():
        await up_to_confirmation(anna, amount="250")
        assert bot.services is not None
        panel.set_faults(hang_rate=1.0, actions=["check"], hang_seconds=30)
        for n in range(LANES + 4):
            token = f"tracked-{n}"
            await orders.start_submitting(
                bot.services.db,
                token=token,
                user_id=501,
                chat_id=501,
                account=ALICE,
                service_id="ig-likes",
                service_name="Instagram Likes",
                params={},
                quantity=None,
                total=None,
            )
            await orders.mark_placed(
                bot.services.db, token, panel_order_id=str(n), charged=None, next_check_at=0
            )
        await eventually(lambda: panel.calls["check"] >= LANES - RESERVED)

        await anna.press("✅ Confirm")
        assert "placed" in anna.last_message.text
        assert panel.calls["add"] == 1
        # The checks held every connection they may have, and no more.
        assert panel.calls["check"] == LANES - RESERVED


async def test_a_refusal_is_told_once_whatever_happens_to_the_tap(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")
    # Spent elsewhere after the confirmation showed a balance that covered it: only the
    # panel can refuse now.
    harness.panel.accounts[ALICE].balance = Decimal("0.01")
    harness.emulator.fail_next("answerCallbackQuery", 429, retry_after=1)
    await anna.press("✅ Confirm")
    await asyncio.sleep(1.5)  # time for a second word, if one were coming
    refusals = [m for m in anna.bot_messages if "Not enough money on your panel" in m.text]
    assert len(refusals) == 1
    assert refusals[0].button_labels  # the screen with Fix and Change, not the plain notice
    assert TRY_AGAIN not in anna.transcript
    assert harness.services is not None
    order = await only_order(harness, 501)
    message = await outbox.get(harness.services.db, f"order:{order.id}:order_rejected")
    assert message is not None
    assert message.status is outbox.OutboxStatus.SENT  # said by the wizard itself


async def test_a_changed_range_after_the_confirmation_places_nothing(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")

    def narrower(likes: dict[str, Any]) -> None:
        [amount] = [param for param in likes["params"] if param["param"] == "count"]
        amount["valid"] = "number from 500 to 10000"

    await likes_changed(harness, narrower)

    await anna.press("✅ Confirm")
    assert harness.panel_calls("add") == 0
    assert "500" in anna.last_message.text  # asked for the amount again, within the new range
    await anna.send("600")
    assert "Total: RUB\u00a00.30" in anna.last_message.text
    await anna.press("✅ Confirm")
    assert harness.panel_calls("add") == 1


async def test_a_forged_settle_button_touches_nobody_elses_order(make_bot: BotFactory) -> None:
    bot = make_bot(smmlaba_timeout_seconds=0.5)
    async with bot.running():
        anna, mallory = bot.user(501, "Anna"), bot.user(502, "Mallory")
        await unanswered_order(bot, anna, hang_rate=1.0)
        order = await only_order(bot, 501)
        assert order.state is OrderState.UNCERTAIN

        await mallory.send("/start")
        for action in ("found", "absent", "track"):
            await mallory.press_data(f"st:{order.id}:{action}")
            assert mallory.callback_answers[-1] == "Order not found"
        assert (await only_order(bot, 501)).state is OrderState.UNCERTAIN
