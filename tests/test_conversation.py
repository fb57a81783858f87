"""The ordering conversation, end to end: emulator + sandbox panel + the real bot."""

from __future__ import annotations

from tests.harness import BotHarness


async def test_start_greets_with_the_main_menu(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    reply = anna.last_message
    assert "Hi, Anna!" in reply.text
    assert reply.button_labels == ["🛒 New order", "📦 My orders", "🔍 Search", "💰 Balance", "❓ Help"]
