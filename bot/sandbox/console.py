"""`smmbot demo`: the whole bot offline, in a terminal chat.

The sandbox panel (with a funded demo account and a fast clock), the Telegram emulator and the
real bot run in this process. The person types messages; buttons appear numbered under each
message, and typing a number (or a button's label) presses it. Edited messages are shown again;
notifications arrive by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import threading
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TextIO

from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.app import running
from bot.sandbox.panel import SandboxClock, demo_panel
from bot.sandbox.panel import serve as serve_panel
from bot.sandbox.settings import sandbox_settings
from bot.sandbox.telegram import ChatMessage, TelegramEmulator
from bot.sandbox.telegram import serve as serve_telegram

DEMO_USER_ID = 100_001
HELP = "Type a message, or a button's number or label. /start for the menu, Ctrl-C to leave."


class Console:
    """Draws the chat: one block per message, buttons numbered, re-drawn when edited."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.latest: ChatMessage | None = None

    def show(self, event: str, message: ChatMessage) -> None:
        if not message.from_bot or event == "deleted":
            return
        if event == "edited" and message is not self.latest:
            return  # an older message lost its buttons: nothing to redraw
        self.latest = message
        prefix = "✎ " if event == "edited" else ""
        lines = [f"\n🤖 {prefix}{message.text}"]
        for number, label in enumerate(message.button_labels, start=1):
            lines.append(f"   [{number}] {label}")
        self.out.write("\n".join(lines) + "\n> ")
        self.out.flush()

    def choice(self, typed: str) -> str | None:
        """The button label a typed number or label refers to, if any."""
        if self.latest is None:
            return None
        labels = self.latest.button_labels
        if typed.isdigit() and 1 <= int(typed) <= len(labels):
            return labels[int(typed) - 1]
        return typed if typed in labels else None


async def run_demo(
    *,
    database: Path | None,
    time_scale: float,
    read_line: Callable[[], str],
    out: TextIO = sys.stdout,
) -> None:
    panel, account = demo_panel(clock=SandboxClock(time_scale), seed=1)
    emulator = TelegramEmulator()
    console = Console(out)
    emulator.listeners.append(console.show)
    async with AsyncExitStack() as stack:
        secret_key = None
        if database is None:
            database = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "demo.sqlite3"
            # Gone with the database: no key file to make, and no warning to back it up.
            secret_key = SecretStr(Fernet.generate_key().decode())
        panel_url = await stack.enter_async_context(serve_panel(panel))
        telegram_url = await stack.enter_async_context(serve_telegram(emulator))
        settings = sandbox_settings(
            token=emulator.token,
            telegram_url=telegram_url,
            panel_url=panel_url,
            operator=account,
            database=database,
            bot_secret_key=secret_key,
            allowed_users=frozenset({DEMO_USER_ID}),
            check_interval_seconds=2,
            log_level="WARNING",
        )
        bot, dispatcher, _services = await stack.enter_async_context(running(settings))
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
        )
        person = emulator.user(DEMO_USER_ID, "Demo", language_code="en")
        out.write(
            f"SMMLaba bot demo: an emulated panel and Telegram, {account.balance} RUB to spend.\n"
        )
        out.write(HELP + "\n")
        await answered(emulator, await person.send("/start", wait=False))
        lines = read_in_background(read_line)
        try:
            while True:
                typed = await lines.get()
                if typed is None:
                    return  # the input ended
                typed = typed.strip()
                if not typed:
                    continue
                label = console.choice(typed)
                try:
                    if label is not None and console.latest is not None:
                        update_id = await person.press(label, message=console.latest, wait=False)
                    else:
                        update_id = await person.send(typed, wait=False)
                except AssertionError as exc:
                    out.write(f"({exc})\n> ")
                    continue
                await answered(emulator, update_id)
        finally:
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
            await polling


async def answered(emulator: TelegramEmulator, update_id: int) -> None:
    """Until the bot has answered (or 10 s passed): a line typed ahead, or piped in, is read
    against the screen it was typed for, and "1" presses that screen's first button."""
    with contextlib.suppress(TimeoutError):
        await emulator.wait_handled(update_id, within=10)


def read_in_background(read_line: Callable[[], str]) -> asyncio.Queue[str | None]:
    """Lines typed by the person, read on a daemon thread so that leaving never waits for
    Enter; None once the input ends."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def reader() -> None:
        while True:
            try:
                line: str | None = read_line()
            except EOFError:
                line = None
            loop.call_soon_threadsafe(lines.put_nowait, line)
            if line is None:
                return

    threading.Thread(target=reader, name="demo-input", daemon=True).start()
    return lines


def demo(database: Path | None, time_scale: float) -> int:
    def read_line() -> str:
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one leaves
        asyncio.run(run_demo(database=database, time_scale=time_scale, read_line=read_line))
    print("\nBye!")
    return 0
