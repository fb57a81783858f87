"""`smmbot demo`: the whole bot offline, in a terminal chat.

The sandbox panel (with a funded demo account and a fast clock), the Telegram emulator and the
real bot run in this process. The person types messages; each bot message with buttons gets a
letter, its buttons are `[A1]`, `[A2]`… and typing `A2` presses one. A bare number presses a
button of the message being worked on, so a notification arriving mid-order never takes the
numbers over. Edited messages are shown again, marked as updated; notifications and the bot's
pop-up answers to buttons arrive by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import string
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from itertools import count, product
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

from aiohttp import web
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.app import running
from bot.sandbox.panel import SandboxClock, demo_panel
from bot.sandbox.settings import serve_sandboxes
from bot.sandbox.telegram import ChatMessage, HandledMarker, SimulatedUser, TelegramEmulator
from bot.serving import serve_app
from handlers.middlewares import register_outermost
from webapp.api import PATH as MINI_APP_PATH

DEMO_USER_ID = 100_001
HELP = (
    "Type a message, or a button's code (A1), or just its number for the message you are on.\n"
    'For several lines, end a line with \\ to go on, or put """ alone on a line before and '
    "after them. /start for the menu, Ctrl-C to leave."
)
BLOCK_FENCE = '"""'
CONTINUED = "\\"
BUTTON_CODE = re.compile(r"([A-Za-z]+)(\d+)")


def tag_names() -> Iterator[str]:
    """A, B, … Z, AA, AB, …: the letters that tell the messages with buttons apart."""
    for width in count(1):
        for letters in product(string.ascii_uppercase, repeat=width):
            yield "".join(letters)


class Console:
    """Draws the chat: one block per message, re-drawn (marked as updated) when edited.

    Each bot message with buttons has a tag, the first letter free while it shows buttons, so
    its buttons stay `A1`, `A2`… through its edits, whatever else arrives. A bare number goes
    to the focus: the message the person last pressed, or the newest one with buttons that
    came as the bot's answer to them (not one that arrived on its own, as notifications do).
    """

    def __init__(self, out: TextIO, pictures: Path | None = None) -> None:
        self.out = out
        self.pictures = pictures  # where a picture the bot sends is saved, to be opened
        self.tagged: dict[str, ChatMessage] = {}  # tag -> a live message showing buttons
        self.focus: ChatMessage | None = None
        self.answering = False  # the bot is answering what the person typed or pressed
        self.printed: dict[int, tuple[str, list[str]]] = {}  # message id -> text, labels

    def show(self, event: str, message: ChatMessage) -> None:
        if not message.from_bot:
            return
        if event == "deleted" or not message.button_labels:
            self.untag(message)
        if event == "deleted":
            return
        tag = self.tag_of(message) or (self.tag(message) if message.button_labels else None)
        if self.answering and event == "new" and tag is not None:
            self.focus = message
        shown = (message.text, message.button_labels)
        before = self.printed.get(message.message_id)
        self.printed[message.message_id] = shown
        if before is not None and (shown == before or (shown[0] == before[0] and not shown[1])):
            return  # nothing new, or it only lost its buttons: its old block says enough
        marker = "✎ (updated) " if event == "edited" else ""
        lines = [f"\n🤖 {marker}{message.text}"]
        if message.photo is not None:
            lines.append(f"🖼 {self.save_picture(message)}")
        for number, label in enumerate(message.button_labels, start=1):
            lines.append(f"   [{tag}{number}] {label}")
        self.write("\n".join(lines))

    def save_picture(self, message: ChatMessage) -> str:
        """The picture saved to a file: its path, or why it could not be."""
        if self.pictures is None or message.photo is None:
            return "(a picture)"
        self.pictures.mkdir(parents=True, exist_ok=True)
        kind = "png" if message.photo.startswith(b"\x89PNG") else "jpg"
        path = self.pictures / f"picture-{message.message_id}.{kind}"
        path.write_bytes(message.photo)
        return f"picture saved to {path}"

    def show_answer(self, method: str, parameters: dict[str, Any]) -> None:
        """The pop-up a button's answer shows (a toast or an alert), as a line of its own."""
        if method == "answerCallbackQuery" and parameters.get("text"):
            self.write(f"\n  ⓘ {parameters['text']}")

    def write(self, block: str) -> None:
        self.out.write(block + "\n> ")
        self.out.flush()

    def tag_of(self, message: ChatMessage) -> str | None:
        return next((tag for tag, shown in self.tagged.items() if shown is message), None)

    def tag(self, message: ChatMessage) -> str:
        tag = next(name for name in tag_names() if name not in self.tagged)
        self.tagged[tag] = message
        return tag

    def untag(self, message: ChatMessage) -> None:
        tag = self.tag_of(message)
        if tag is not None:
            del self.tagged[tag]
        if self.focus is message:
            self.focus = None

    def choice(self, typed: str) -> tuple[ChatMessage, str] | None:
        """The message and button label that a typed code (`B2`), number or label means."""
        code = BUTTON_CODE.fullmatch(typed)
        if code is not None:
            message = self.tagged.get(code[1].upper())
            return None if message is None else _numbered(message, int(code[2]))
        focus = self.focus if self.focus is not None and self.focus.button_labels else None
        # With no focus, the newest message with buttons: the plain case of a single screen.
        target = focus or max(self.tagged.values(), key=lambda m: m.message_id, default=None)
        if target is None:
            return None
        if typed.isdigit():
            return _numbered(target, int(typed))
        return (target, typed) if typed in target.button_labels else None


def _numbered(message: ChatMessage, number: int) -> tuple[ChatMessage, str] | None:
    labels = message.button_labels
    return (message, labels[number - 1]) if 1 <= number <= len(labels) else None


@contextlib.contextmanager
def logged_to(path: Path) -> Iterator[None]:
    """The bot's warnings to a file while the demo runs, not between the chat's lines."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()


def mini_app_link(base: str, person: SimulatedUser) -> str:
    """The Mini App's page as Telegram opens it for `person`: their signed initData and a
    theme in the URL's fragment."""
    launch = urlencode({"tgWebAppData": person.web_app_init_data(), "tgWebAppVersion": "8.0"})
    return f"{base}{MINI_APP_PATH}#{launch}"


async def run_demo(
    *,
    database: Path | None,
    time_scale: float,
    read_line: Callable[[], str],
    out: TextIO = sys.stdout,
    clock: SandboxClock | None = None,
) -> None:
    """The demo until the input ends; `clock`, if given, is the panel's (a test moves it)."""
    panel, account = demo_panel(clock=clock or SandboxClock(time_scale), seed=1)
    emulator = TelegramEmulator()
    # Pictures (the /spent chart) outlive the demo, to be opened in any viewer.
    pictures = (
        database.parent / "pictures"
        if database is not None
        else Path(tempfile.gettempdir()) / "smmbot-demo-pictures"
    )
    console = Console(out, pictures)
    emulator.listeners.append(console.show)
    emulator.call_listeners.append(console.show_answer)
    async with AsyncExitStack() as stack:
        secret_key = None
        if database is None:
            database = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "demo.sqlite3"
            # Gone with the database: no key file to make, and no warning to back it up.
            secret_key = SecretStr(Fernet.generate_key().decode())
        log = database.with_name("demo.log")
        stack.enter_context(logged_to(log))
        settings = await serve_sandboxes(
            stack,
            panel,
            emulator,
            operator=account,
            database=database,
            bot_secret_key=secret_key,
            allowed_users=frozenset({DEMO_USER_ID}),
            # The demo's person runs the shop: the operator's settings (its low-balance
            # warning) and commands are theirs to try.
            admin_ids=frozenset({DEMO_USER_ID}),
            check_interval_seconds=2,
            log_level="WARNING",
            # The Mini App's link is signed once, when the demo starts: it lasts the demo.
            webapp_max_age_seconds=30 * 86_400,
        )
        bot, dispatcher, services = await stack.enter_async_context(running(settings))
        mini_app = web.Application()
        services.mini_app.add_to(mini_app)
        mini_app_url = await stack.enter_async_context(serve_app(mini_app))
        # A line typed ahead waits until the bot is done with the one before, exactly.
        register_outermost(dispatcher, HandledMarker(emulator))
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
        )
        person = emulator.user(DEMO_USER_ID, "Demo", language_code="en")
        out.write(
            f"SMMLaba bot demo: an emulated panel and Telegram, {account.balance} RUB to spend.\n"
        )
        out.write(HELP + f"\nThe bot's log: {log}\n")
        out.write(
            f"The catalog as a Mini App, in a browser: {mini_app_link(mini_app_url, person)}\n"
        )
        console.answering = True
        await answered(emulator, await person.send("/start", wait=False))
        console.answering = False
        lines = read_in_background(read_line)
        try:
            while True:
                typed = await read_message(lines, out)
                if typed is None:
                    return  # the input ended
                if not typed.strip():
                    continue
                typed = typed.strip()
                button = console.choice(typed)
                console.answering = True
                try:
                    if button is not None:
                        message, label = button
                        console.focus = message  # the bot answers a press on its message
                        update_id = await person.press(label, message=message, wait=False)
                    else:
                        update_id = await person.send(typed, wait=False)
                except AssertionError as exc:
                    console.answering = False
                    out.write(f"({exc})\n> ")
                    continue
                await answered(emulator, update_id)
                console.answering = False
        finally:
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
            await polling


async def read_message(lines: asyncio.Queue[str | None], out: TextIO) -> str | None:
    """The next message the person typed: one line, or several, joined by line breaks, when
    lines end in a backslash or sit between two lines of `\"\"\"` (a pasted block), as the
    comments of a comments service are one a line. None once the input ends."""
    first = await lines.get()
    if first is None:
        return None
    line = first.rstrip("\r\n")
    if line.strip() == BLOCK_FENCE:
        block: list[str] = []
        while (pasted := await continued_line(lines, out)) is not None:
            if pasted.strip() == BLOCK_FENCE:
                break
            block.append(pasted)
        return "\n".join(block)  # an unclosed block is sent as it stands at the end of input
    parts = [line]
    while parts[-1].endswith(CONTINUED):
        parts[-1] = parts[-1].removesuffix(CONTINUED)
        following = await continued_line(lines, out)
        if following is None:
            break
        parts.append(following)
    return "\n".join(parts)


async def continued_line(lines: asyncio.Queue[str | None], out: TextIO) -> str | None:
    out.write("… ")
    out.flush()
    line = await lines.get()
    return None if line is None else line.rstrip("\r\n")


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
