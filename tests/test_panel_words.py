"""The panel's words stay out of the chat where the bot has its own: a status code it knows
is told as its state, and one of the panel's usual refusals in the bot's words, both in the
person's language (no «В обработке» inside an English sentence); the panel's words only
for what the bot has no wording for, and always in the log."""

from __future__ import annotations

import logging

import pytest

from bot.sandbox.panel import ERR_CREDENTIALS, STATUS_TEXT, Account
from bot.sandbox.telegram import SimulatedUser
from bot.smmlaba import OrderStatus
from bot.statuses import DEFAULT_STATUS_STATES, panel_words
from storage import orders, outbox
from storage.outbox import OutboxStatus
from tests.conftest import BOB
from tests.flows import place_order, start_in_russian
from tests.harness import BotHarness
from tests.helpers import eventually

PANEL_WORDS = set(STATUS_TEXT.values())


async def place_order_in_russian(ivan: SimulatedUser) -> None:
    await start_in_russian(ivan)  # its service's button ends in its price
    await ivan.send("https://instagram.com/p/x")
    await ivan.send("1000")
    await ivan.press("✅ Подтвердить")


def panel_words_in(user: SimulatedUser) -> list[str]:
    return [m.text for m in user.bot_messages if any(w in m.text for w in PANEL_WORDS)]


async def test_a_known_status_is_told_in_the_bots_words_in_each_language(
    tracking: BotHarness,
) -> None:
    panel = tracking.panel
    anna = tracking.user(501, "Anna")
    ivan = tracking.user(502, "Иван", language_code="ru")
    await place_order(anna)
    await place_order_in_russian(ivan)
    assert tracking.services is not None
    db = tracking.services.db

    async def both_told() -> bool:
        ended = [
            order
            for user_id in (501, 502)
            for order in await orders.list_for_user(db, user_id, limit=1)
            if order.state.is_final
        ]
        return len(ended) == 2 and not await orders.count_tracked(db)

    panel.clock.advance(10_000)
    await eventually(both_told)

    async def outbox_empty() -> bool:
        counts = await outbox.count_by_status(db)
        return not counts.get(OutboxStatus.PENDING)

    # The end is told after the order is final: wait until the notifier has sent it, so it
    # does not land after the card asked for below.
    await eventually(outbox_empty)

    await anna.send("/orders")
    await anna.press(anna.last_message.button_labels[0])
    assert "State: " in anna.last_message.text
    await ivan.send("/orders")
    await ivan.press(ivan.last_message.button_labels[0])
    assert "Состояние: " in ivan.last_message.text
    # The sandbox names every status in Russian; all its codes are known ones.
    assert panel_words_in(anna) == []
    assert panel_words_in(ivan) == []


def test_the_panels_words_are_kept_only_for_a_code_the_bot_does_not_know() -> None:
    known = OrderStatus.model_validate({"orderid": "1", "status": "2", "statusText": "В работе"})
    unknown = OrderStatus.model_validate({"orderid": "1", "status": "42", "statusText": "Пауза"})
    assert panel_words(known) == ""
    assert panel_words(unknown) == "Пауза"
    assert panel_words(unknown, {**DEFAULT_STATUS_STATES, "42": orders.OrderState.PENDING}) == ""


async def test_a_usual_refusal_is_told_in_the_persons_language_and_logged_as_said(
    personal: BotHarness, bob: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for user_id, name, language, expected in (
        (801, "Bob", "en", "❌ The panel didn't accept the account's e-mail and API key."),
        (802, "Иван", "ru", "❌ Панель не приняла e-mail и API-ключ аккаунта."),
    ):
        person = personal.user(user_id, name, language_code=language)
        await person.send("/connect")
        await person.send(BOB)
        await person.send("0" * 32)
        assert expected in person.last_message.text
        assert ERR_CREDENTIALS not in person.last_message.text
    assert ERR_CREDENTIALS in caplog.text  # the panel's own words, for the operator
