"""One message per order: the confirmation becomes the order's card after Confirm and is edited
in place as the order moves (an edit makes no sound); a message of its own only for its end,
or its start for someone who asked for that too. The wizard's answered prompts leave the chat:
the next screen lists what was given."""

from __future__ import annotations

import re
from decimal import Decimal

from bot.sandbox.panel import SandboxPanel
from bot.sandbox.telegram import ChatMessage, SimulatedUser
from storage import orders
from tests.flows import fill_order, place_order, start_in_russian, start_order
from tests.harness import BotHarness
from tests.helpers import eventually


def completes(panel: SandboxPanel, order_id: str) -> tuple[float, float]:
    """Make the sandbox deliver the whole order; (when it starts, how long it takes)."""
    plan = panel.orders[order_id]
    plan.outcome, plan.deliver_share = "completed", Decimal(1)
    return plan.start_after, plan.duration


def card_of(user: SimulatedUser, message_id: int) -> ChatMessage:
    [card] = [m for m in user.bot_messages if m.message_id == message_id]
    return card


async def test_a_plain_order_leaves_its_card_and_one_message_when_done(
    tracking: BotHarness,
) -> None:
    panel = tracking.panel
    anna = tracking.user(501, "Anna")
    await start_order(anna)
    first_prompt = anna.last_message.message_id
    await anna.send("https://instagram.com/p/x")
    # The answered prompt is gone; the next one lists what was given.
    assert first_prompt not in [m.message_id for m in anna.bot_messages]
    assert "✓ Link: https://instagram.com/p/x" in anna.last_message.text
    assert "Step 2 of 2" in anna.last_message.text
    await anna.send("1000")
    confirmation = anna.last_message.message_id
    await anna.press("✅ Confirm")

    card = card_of(anna, confirmation)
    assert "📦 Order #7000000" in card.text
    assert "State: placed" in card.text
    assert "🔗 Link: https://instagram.com/p/x" in card.text
    assert "🔢 Quantity: 1000" in card.text
    assert "UTC" in card.text  # when it was placed
    assert "✅ Confirm" not in card.button_labels
    assert card.button_labels == ["🔄 Refresh", "🔁 Order again", "🔕 Mute"]
    assert len(anna.bot_messages) == 1  # the card is the order's only message so far

    start, duration = completes(panel, "7000000")
    panel.clock.advance(start + duration / 2)
    await eventually(lambda: "▓" in card_of(anna, confirmation).text)
    moving = card_of(anna, confirmation)
    assert "in progress" in moving.text
    assert " of 1,000" in moving.text
    assert len(anna.bot_messages) == 1  # moved in place: no message, no sound

    panel.clock.advance(10_000)
    await eventually(lambda: len(anna.bot_messages) == 2)
    done = anna.last_message
    assert "✅ Order #7000000 is complete — 1,000 of 1,000 delivered." in done.text
    await eventually(lambda: "✅ completed" in card_of(anna, confirmation).text)
    assert card_of(anna, confirmation).button_labels == ["🔁 Order again"]
    assert card_of(anna, confirmation).edits >= 3  # placed, moving, done
    assert [m.message_id for m in anna.bot_messages] == [confirmation, done.message_id]


async def test_the_card_and_the_prompts_speak_russian(tracking: BotHarness) -> None:
    ivan = tracking.user(502, "Иван", language_code="ru")
    await start_in_russian(ivan)
    await ivan.send("https://instagram.com/p/x")
    assert "✓ Ссылка: https://instagram.com/p/x" in ivan.last_message.text
    await ivan.send("1000")
    await ivan.press("✅ Подтвердить")
    card = ivan.last_message
    assert "📦 Заказ #7000000" in card.text
    assert "🔗 Ссылка: https://instagram.com/p/x" in card.text
    assert "🔢 Количество: 1000" in card.text
    assert "Состояние: оформлен" in card.text
    assert card.button_labels == ["🔄 Обновить", "🔁 Повторить", "🔕 Без звука"]


async def test_start_and_end_tells_the_start_without_an_empty_progress_bar(
    tracking: BotHarness,
) -> None:
    panel = tracking.panel
    anna = tracking.user(501, "Anna")
    await anna.send("/settings")
    await anna.press("Start and end")
    assert "✅ Start and end" in anna.last_message.button_labels
    await place_order(anna)
    plan = panel.orders["7000000"]
    plan.outcome, plan.deliver_share = "completed", Decimal(1)
    plan.in_progress_code = 2
    panel.clock.advance(plan.start_after + 1)
    await eventually(lambda: "▶️ Started" in anna.last_message.text)
    started = anna.last_message.text
    assert "🔔 Order #7000000 · Instagram Likes" in started
    assert "%" not in started  # next to nothing delivered yet: no bar that says nothing
    messages = len(anna.bot_messages)
    panel.clock.advance(10_000)
    await eventually(lambda: len(anna.bot_messages) == messages + 1)
    assert "is complete" in anna.last_message.text


async def test_a_deleted_card_is_left_alone_and_the_end_still_comes(
    tracking: BotHarness,
) -> None:
    panel = tracking.panel
    anna = tracking.user(501, "Anna")
    await place_order(anna)
    card = anna.last_message
    card.deleted = True  # the person deleted it (Telegram does not tell bots)
    start, duration = completes(panel, "7000000")
    panel.clock.advance(start + duration / 2)
    assert tracking.services is not None
    db = tracking.services.db

    async def moved() -> bool:
        [order] = await orders.list_for_user(db, 501, limit=1)
        return order.remain is not None and order.remain < 1000

    await eventually(moved)
    panel.clock.advance(10_000)
    await eventually(lambda: any("is complete" in m.text for m in anna.bot_messages))
    assert len(anna.bot_messages) == 1  # the end, and nothing else came in the card's place
    # The bot cannot know the person deleted it: its edits were tried, refused, and dropped.
    refused = tracking.emulator.violations
    assert refused
    assert {(v.method, v.description) for v in refused} == {
        ("editMessageText", "Bad Request: message to edit not found")
    }
    refused.clear()


async def test_order_again_from_the_card_opens_a_new_message_and_the_card_stays(
    tracking: BotHarness,
) -> None:
    panel = tracking.panel
    anna = tracking.user(501, "Anna")
    await place_order(anna)
    card = anna.last_message
    await anna.press("🔁 Order again", message=card)
    assert "Please check your order" in anna.last_message.text
    assert anna.last_message.message_id != card.message_id
    assert "📦 Order #7000000" in card_of(anna, card.message_id).text
    await anna.press("🔕 Mute", message=card_of(anna, card.message_id))
    muted = card_of(anna, card.message_id)
    assert "📦 Order #7000000" in muted.text
    assert "🔔 Unmute" in muted.button_labels
    assert "⬅️ My orders" not in muted.button_labels  # still the card, not a way elsewhere
    # The confirmation of the new order is still live and places it.
    await anna.press("✅ Confirm")
    assert "📦 Order #7000001" in anna.last_message.text
    start, duration = completes(panel, "7000000")
    panel.clock.advance(start + duration / 2)
    await eventually(lambda: "▓" in card_of(anna, card.message_id).text)


async def test_filling_an_order_leaves_one_message_in_the_chat(tracking: BotHarness) -> None:
    anna = tracking.user(501, "Anna")
    await start_order(anna)
    await fill_order(anna)
    # /start's menu became the first prompt, which left with the second: the confirmation
    # is the bot's one message, and it lists both answers.
    [confirmation] = anna.bot_messages
    assert "Please check your order" in confirmation.text
    assert "https://instagram.com/p/x" in confirmation.text


async def test_my_orders_lists_the_day_and_the_price_of_each(tracking: BotHarness) -> None:
    anna = tracking.user(501, "Anna")
    await place_order(anna)
    await anna.send("/orders")
    line = anna.last_message.text.splitlines()[1]
    assert re.fullmatch(r"#7000000 · \d{1,2} \w{3} · Instagram Likes · RUB\xa00\.50 · placed", line)
    ivan = tracking.user(502, "Иван", language_code="ru")
    await start_in_russian(ivan)
    await ivan.send("https://instagram.com/p/x")
    await ivan.press("1\u00a0000")
    await ivan.press("✅ Подтвердить")
    await ivan.send("/orders")
    line = ivan.last_message.text.splitlines()[1]
    assert re.fullmatch(r"#7000001 · \d{1,2} \w+\.? · Instagram Likes · 0,50\xa0₽ · оформлен", line)


async def test_a_refresh_elsewhere_brings_the_card_up_to_date(harness: BotHarness) -> None:
    # The tracker here checks once a minute: only the person's Refresh learns of the move.
    panel = harness.panel
    anna = harness.user(501, "Anna")
    await place_order(anna)
    card = anna.last_message
    start, duration = completes(panel, "7000000")
    panel.clock.advance(start + duration / 2)
    await anna.send("/orders")
    await anna.press("#7000000")
    await anna.press("🔄 Refresh")
    assert "in progress" in anna.last_message.text
    assert anna.last_message.message_id != card.message_id
    await eventually(lambda: "in progress" in card_of(anna, card.message_id).text)
