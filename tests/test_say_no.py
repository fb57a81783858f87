"""Say no before Confirm: a total the balance does not cover gets no Confirm button but the
largest amount it does cover, the way to top up and a fresh look after; a rule the bot can
read (how many comments, a number's range) is enforced before the panel sees the order; the
amount can be tapped rather than typed."""

from __future__ import annotations

from decimal import Decimal

from bot.sandbox.panel import SandboxPanel
from handlers.callbacks import Step, StepAction
from tests.conftest import ALICE, BotFactory
from tests.flows import start_in_russian, start_order, up_to_confirmation
from tests.harness import BotHarness


def adds(panel: SandboxPanel) -> int:
    return len([r for r in panel.requests if r.action == "add"])


async def test_a_short_balance_offers_what_it_covers_instead_of_confirm(
    harness: BotHarness,
) -> None:
    panel = harness.panel
    panel.accounts[ALICE].balance = Decimal("0.10")  # Instagram Likes: 0.50 per 1,000
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")
    short = anna.last_message
    assert "doesn't cover this total" in short.text
    assert "✅ Confirm" not in short.button_labels
    assert "🔢 Order 200 instead" in short.button_labels  # 200 x 0.0005 = 0.10
    top_up = short.find_button("💳 Top up")
    assert top_up is not None
    assert top_up.url == "https://smmlaba.com/"
    await anna.press("🔢 Order 200 instead")
    assert "Quantity: 200" in anna.last_message.text
    assert "balance after: RUB\u00a00.00" in anna.last_message.text
    await anna.press("✅ Confirm")
    assert "📦 Order #7000000" in anna.last_message.text
    assert panel.requests[-1].fields["count"] == "200"
    assert adds(panel) == 1


async def test_topped_up_the_confirmation_asks_the_balance_again(harness: BotHarness) -> None:
    panel = harness.panel
    panel.accounts[ALICE].balance = Decimal("0.01")
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")
    # Not even the minimum is covered: no amount to offer, nothing sent to the panel.
    assert not [b for b in anna.last_message.button_labels if b.startswith("🔢")]
    assert "✅ Confirm" not in anna.last_message.button_labels
    panel.accounts[ALICE].balance = Decimal("100")  # topped up on the panel
    await anna.press("🔄 I've topped up")
    assert "✅ Confirm" in anna.last_message.button_labels
    assert "balance after: RUB\u00a099.87" in anna.last_message.text
    assert adds(panel) == 0


async def test_without_a_top_up_page_there_is_no_such_button(make_bot: BotFactory) -> None:
    async with make_bot(panel_topup_url="").running() as bot:
        bot.panel.accounts[ALICE].balance = Decimal("0.01")
        anna = bot.user(501, "Anna")
        await up_to_confirmation(anna, amount="250")
        assert "💳 Top up" not in anna.last_message.button_labels
        assert "🔄 I've topped up" in anna.last_message.button_labels


async def test_in_russian_the_short_balance_says_so(harness: BotHarness) -> None:
    harness.panel.accounts[ALICE].balance = Decimal("0.10")
    ivan = harness.user(502, "Иван", language_code="ru")
    await start_in_russian(ivan)
    await ivan.send("https://instagram.com/p/x")
    await ivan.send("250")
    assert "не хватает" in ivan.last_message.text
    assert "✅ Подтвердить" not in ivan.last_message.button_labels
    assert "🔢 Заказать 200" in ivan.last_message.button_labels
    assert "💳 Пополнить" in ivan.last_message.button_labels


async def test_amounts_can_be_tapped_within_the_range(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna)
    await anna.send("https://instagram.com/p/x")
    # Instagram Likes takes 50 to 10,000: its minimum, then round amounts.
    assert anna.last_message.button_labels[:5] == ["50", "100", "500", "1,000", "5,000"]
    await anna.press("1,000")
    assert "Please check your order" in anna.last_message.text
    assert "Quantity: 1000" in anna.last_message.text
    ivan = harness.user(502, "Иван", language_code="ru")
    await start_in_russian(ivan)
    await ivan.send("https://instagram.com/p/x")
    assert ivan.last_message.button_labels[:5] == ["50", "100", "500", "1\u00a0000", "5\u00a0000"]


async def test_a_forged_amount_button_is_refused(harness: BotHarness) -> None:
    panel = harness.panel
    anna = harness.user(501, "Anna")
    await start_order(anna)
    await anna.send("https://instagram.com/p/x")
    prompt = anna.last_message
    await anna.press_data(Step(action=StepAction.PRESET, index=777).pack(), message=prompt)
    assert anna.callback_answers[-1] == "This menu has expired"
    assert adds(panel) == 0
    assert "Step 2 of 2" in prompt.text  # still asking


async def test_comments_are_counted_before_the_panel_sees_them(harness: BotHarness) -> None:
    panel = harness.panel
    anna = harness.user(501, "Anna")
    await start_order(anna, "Instagram", "Comments", "Instagram Custom Comments")
    await anna.send("https://instagram.com/p/abc")
    assert "Send 5 to 500 of them in one message, one per line." in anna.last_message.text
    await anna.send("Great!\n\nLove it\nWow")
    assert "That's 3 lines; at least 5 are needed, one per line." in anna.last_message.text
    await anna.send("one\ntwo\nthree\nfour\nfive")
    assert "Please check your order" in anna.last_message.text
    await anna.press("✅ Confirm")
    assert panel.requests[-1].fields["comments"] == "one\ntwo\nthree\nfour\nfive"
    assert adds(panel) == 1


async def test_comments_counted_in_russian(harness: BotHarness) -> None:
    ivan = harness.user(502, "Иван", language_code="ru")
    await start_in_russian(ivan, "Instagram", "Comments", "Instagram Custom Comments")
    await ivan.send("https://instagram.com/p/abc")
    await ivan.send("раз\nдва")
    assert "Строк: 2; нужно не меньше 5, по одной на строке." in ivan.last_message.text


async def test_text_at_a_short_confirmation_asks_for_what_it_offers(harness: BotHarness) -> None:
    harness.panel.accounts[ALICE].balance = Decimal("0.10")
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna, amount="250")
    await anna.send("ok")
    assert anna.last_message.text.startswith("⚠️ Top up, order less, or /cancel.\n")
    assert "✅ Confirm" not in anna.last_message.button_labels
