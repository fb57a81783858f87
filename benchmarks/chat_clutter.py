"""What one plain order leaves in the chat, and what it takes from the person.

The real bot in this process, on the sandbox panel and the Telegram emulator, with default
settings: one person orders Instagram Likes (a link and an amount) through the catalog, the
panel delivers it in steps and completes it; another finds the same service by typing its
name. Counted: the bot's messages left in the chat once the order has ended, the messages
that arrived with a notification's sound (new ones: edits are silent), taps, and typed
messages, per way in.

    python -m benchmarks.chat_clutter

Prints one JSON line last.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.app import running
from bot.sandbox.panel import SandboxClock, SandboxPanel, demo_panel
from bot.sandbox.settings import serve_sandboxes
from bot.sandbox.telegram import ChatMessage, SimulatedUser, TelegramEmulator
from bot.tracker import TrackerConfig

LINK = "https://www.instagram.com/p/benchmark"
FAST = TrackerConfig(base_interval=0.05, max_interval=0.2, rate_per_second=200)


class Person:
    """A simulated person who counts what they do."""

    def __init__(self, user: SimulatedUser) -> None:
        self.user = user
        self.taps = 0
        self.typed = 0

    async def tap(self, label: str) -> None:
        labels = self.user.last_message.button_labels
        # A service's button ends in its price: tapped by its name, as a person reads it.
        found = next((b for b in labels if b == label or b.startswith(f"{label} · ")), label)
        self.taps += 1
        await self.user.press(found)

    async def type(self, text: str) -> None:
        self.typed += 1
        await self.user.send(text)


async def through_the_catalog(person: Person) -> None:
    await person.type("/start")
    for label in ("🛒 New order", "Instagram", "Likes", "Instagram Likes", "🛒 Order this"):
        await person.tap(label)
    await person.type(LINK)
    await person.tap("1,000")  # the amount, offered as a button
    await person.tap("✅ Confirm")


async def through_search(person: Person) -> None:
    await person.type("instagram likes")  # typed at an empty chat: a search
    for label in ("Instagram Likes", "🛒 Order this"):
        await person.tap(label)
    await person.type(LINK)
    await person.tap("1,000")
    await person.tap("✅ Confirm")


async def one_order(
    emulator: TelegramEmulator,
    panel: SandboxPanel,
    user_id: int,
    walk: Callable[[Person], Awaitable[None]],
) -> dict[str, Any]:
    person = Person(emulator.user(user_id, f"Person {user_id}", language_code="en"))
    await walk(person)
    order_id = max(panel.orders, key=int)
    plan = panel.orders[order_id]
    plan.outcome, plan.deliver_share = "completed", Decimal(1)
    sounds_before = len(person.user.bot_messages)
    for share in (0.1, 0.3, 0.55, 0.8):  # delivery moving, seen by the tracker in steps
        at = plan.created + plan.start_after + plan.duration * share
        panel.clock.advance(max(0.0, at - panel.clock.now()))
        await asyncio.sleep(0.5)
    panel.clock.advance(10_000)
    ended = asyncio.Event()

    def on_message(_: str, message: ChatMessage) -> None:
        if " is complete" in message.text:
            ended.set()

    emulator.listeners.append(on_message)
    if not any(" is complete" in m.text for m in person.user.bot_messages):
        await asyncio.wait_for(ended.wait(), 30)
    await asyncio.sleep(0.5)  # anything else it would send
    messages = person.user.bot_messages
    return {
        "messages_left": len(messages),
        "messages_after_confirm": len(messages) - sounds_before,
        "edits_of_the_card": max(m.edits for m in messages),
        "taps": person.taps,
        "typed": person.typed,
    }


async def measure() -> dict[str, Any]:
    clock = SandboxClock(0.0)
    panel, account = demo_panel(clock=clock, seed=1)
    emulator = TelegramEmulator()
    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        settings = await serve_sandboxes(
            stack,
            panel,
            emulator,
            operator=account,
            database=folder / "bot.sqlite3",
            allowed_users=frozenset({1, 2}),
            check_interval_seconds=FAST.base_interval,
            bot_secret_key=SecretStr(Fernet.generate_key().decode()),
            log_level="ERROR",
        )
        bot: Bot
        dispatcher: Dispatcher
        bot, dispatcher, _ = await stack.enter_async_context(running(settings, tracker_config=FAST))
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
        )
        try:
            catalog = await one_order(emulator, panel, 1, through_the_catalog)
            search = await one_order(emulator, panel, 2, through_search)
        finally:
            await dispatcher.stop_polling()
            await polling
    for violation in emulator.violations:
        print(violation, file=sys.stderr)
    return {"catalog": catalog, "search": search, "spec_violations": len(emulator.violations)}


def main() -> None:
    result = asyncio.run(measure())
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
