"""/connect against a careless or hostile person: a key never stays in the chat, a refused
key is not a secret the logs hide, and the bot is no free key-guessing proxy."""

from __future__ import annotations

import logging

import pytest

from bot.sandbox.panel import Account
from tests.conftest import BOB, BotFactory
from tests.harness import BotHarness


async def test_a_key_sent_at_the_email_step_is_deleted(personal: BotHarness, bob: Account) -> None:
    bobby = personal.user(801, "Bob")
    await bobby.send("/connect")
    await bobby.send(bob.api_key)
    assert all(m.text != bob.api_key for m in bobby.messages), "the key must not stay"
    assert "That looks like an API key, so I took it out of the chat" in bobby.last_message.text
    await bobby.send(BOB)  # the form goes on as before
    assert "Now send your API key" in bobby.last_message.text


async def test_a_key_is_deleted_even_when_the_person_is_throttled(
    make_bot: BotFactory, bob: Account
) -> None:
    async with make_bot(
        operator=None, access="open", throttle_burst=3, throttle_per_second=0.001
    ).running() as harness:
        bobby = harness.user(801, "Bob")
        await bobby.send("/connect")
        await bobby.send(BOB)
        await bobby.send("hello")  # the third update: the bucket is empty now
        await bobby.send(bob.api_key)  # dropped by the throttle, but not left in the chat
        assert all(m.text != bob.api_key for m in bobby.messages)
        assert harness.panel_calls("test") == 0  # the dropped update went no further


async def test_a_key_that_cannot_be_deleted_is_pointed_out(
    personal: BotHarness, bob: Account
) -> None:
    bobby = personal.user(801, "Bob")
    await bobby.send("/connect")
    await bobby.send(BOB)
    personal.emulator.fail_next(
        "deleteMessage", 400, description="Bad Request: message can't be deleted"
    )
    await bobby.send(bob.api_key)
    said = [m.text for m in bobby.bot_messages]
    assert any("please delete it yourself" in text for text in said)
    assert "✅ Linked b***@example.com" in bobby.last_message.text


async def test_a_refused_key_is_forgotten_and_tries_are_limited(
    personal: BotHarness, bob: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bobby = personal.user(801, "Bob")
    await bobby.send("/connect")
    await bobby.send(BOB)
    await bobby.send("uncertain")  # a word typed as a key, refused by the panel
    assert "❌ The panel didn't accept" in bobby.last_message.text
    logging.getLogger("bot.ordering").warning("order 1 is uncertain")
    assert "order 1 is uncertain" in caplog.text  # the word is not masked in every line

    for attempt in range(4):
        await bobby.send(f"wrongkey{attempt:04d}")
        assert "❌ The panel didn't accept" in bobby.last_message.text
    assert personal.panel_calls("test") == 5
    await bobby.send(bob.api_key)  # the sixth key within the hour
    assert "That's a lot of keys tried in one hour. Try again in" in bobby.last_message.text
    assert personal.panel_calls("test") == 5  # the panel was not asked
    assert all(m.text != bob.api_key for m in bobby.messages)
