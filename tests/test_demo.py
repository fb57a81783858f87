"""`smmbot demo`: a person orders in the terminal chat and is told when the order ends."""

from __future__ import annotations

import asyncio
import io
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from bot.sandbox.console import read_message, run_demo
from bot.sandbox.panel import SandboxClock
from tests.helpers import eventually
from tests.processes import PIPE, STDOUT, start_bot
from webapp.api import INIT_DATA_HEADER

SCRIPT: list[tuple[str, str | None]] = [
    ("🛒 New order", "1"),
    ("Choose a platform", "1"),
    ("Choose a category", "1"),
    ("Choose a service", "2"),  # the first is the switch to cheapest first
    ("Order this", "1"),
    ("Step 1 of 2", "https://www.instagram.com/p/demo"),
    ("Step 2 of 2", "250"),
    ("Please check your order", "1"),
    ("Order #7000000", None),
]
CHECKOUT = Path(__file__).resolve().parents[1]
ENDINGS = ("is complete", "Partly delivered", "Cancelled by the panel", "Refunded")
NOTIFICATION = "] 📦 View order"  # the button under an order's end, and nothing else

# What the person types once the chat shows a text: a line, nothing (None), or what a
# function of the person says (it may look at the chat, or act, as moving the panel's clock).
Typed = str | Callable[["ScriptedPerson"], str | None] | None


class ScriptedPerson:
    """Types the next line once the chat shows what it waits for (as a person reads first).
    The demo asks for lines on a thread of its own; the chat is read on the event loop. A
    step that fails ends the input (so the demo ends too) and is raised by `check`."""

    def __init__(
        self,
        out: io.StringIO,
        loop: asyncio.AbstractEventLoop,
        script: Iterable[tuple[str, Typed]] = SCRIPT,
        ending: tuple[str, ...] = ENDINGS,
        pause: float = 0.0,
    ) -> None:
        self.out = out
        self.loop = loop
        self.seen = 0
        self.steps = iter(script)
        self.ending = ending
        self.failure: AssertionError | None = None
        self.pause = pause

    def shown(self, *texts: str) -> bool:
        """Whether the chat showed one of `texts` since the last one seen; if so, that one
        is seen now."""
        chat = self.out.getvalue()
        for text in texts:
            found = chat.find(text, self.seen)
            if found >= 0:
                self.seen = found + len(text)
                return True
        return False

    def wait_for(self, *texts: str) -> None:
        waited = eventually(
            lambda: self.shown(*texts),
            within=30,
            message=lambda: f"the chat never showed {texts}:\n{self.out.getvalue()}",
        )
        asyncio.run_coroutine_threadsafe(waited, self.loop).result()

    def button(self, label: str) -> tuple[str, str]:
        """The tag and number shown last for the button whose label starts with `label` (a
        regular expression)."""
        shown = re.findall(rf"^ +\[([A-Z]*)(\d+)\] {label}", self.out.getvalue(), re.MULTILINE)
        assert shown, f"no button {label!r} in the chat:\n{self.out.getvalue()}"
        tag, number = shown[-1]
        return tag, number

    def read_line(self) -> str:
        if self.failure is not None:
            raise EOFError
        try:
            for expected, typed in self.steps:
                self.wait_for(expected)
                line = typed(self) if callable(typed) else typed
                if line is not None:
                    time.sleep(self.pause)
                    return line + "\n"
            if self.ending:
                self.wait_for(*self.ending)
        except AssertionError as failure:
            self.failure = failure
        raise EOFError

    def check(self) -> None:
        if self.failure is not None:
            raise self.failure


async def demo_with(tmp_path: Path, script: Iterable[tuple[str, Typed]], **options: Any) -> str:
    """The chat of the demo driven by `script` in this process, once the script is done."""
    out = io.StringIO()
    # Half a second a line, as people type: past 10 updates at once the bot says "slow down".
    person = ScriptedPerson(out, asyncio.get_running_loop(), script, ending=(), pause=0.5)
    await run_demo(
        database=tmp_path / "demo.sqlite3",
        time_scale=5000,
        read_line=person.read_line,
        out=out,
        **options,
    )
    person.check()
    return out.getvalue()


async def test_a_full_order_and_its_notification_in_the_terminal(tmp_path: Path) -> None:
    out = io.StringIO()
    person = ScriptedPerson(out, asyncio.get_running_loop())
    await run_demo(
        database=tmp_path / "demo.sqlite3", time_scale=5000, read_line=person.read_line, out=out
    )
    person.check()
    chat = out.getvalue()
    assert "Order #7000000" in chat
    assert any(ending in chat for ending in ENDINGS), chat
    assert NOTIFICATION in chat
    assert (tmp_path / "demo.sqlite3").exists()
    assert "panel took order 1" in (tmp_path / "demo.log").read_text()  # the log, not the chat


async def test_a_notification_mid_order_leaves_the_numbers_to_the_order(tmp_path: Path) -> None:
    # The panel's clock stands still until the person is in the second order's wizard; the
    # first order then ends, and its notification (with buttons) lands under the wizard.
    clock = SandboxClock(0)

    def end_the_first_order(person: ScriptedPerson) -> None:
        person.loop.call_soon_threadsafe(clock.advance, 30 * 24 * 3600)

    def number(label: str) -> Callable[[ScriptedPerson], str]:
        return lambda person: person.button(label)[1]  # a bare number, as in the plain case

    chat = await demo_with(
        tmp_path,
        [
            *SCRIPT[:-1],
            ("Order #7000000", "/start"),
            ("🛒 New order", number("🛒 New order")),
            ("Choose a platform", number("Instagram")),
            ("Choose a category", end_the_first_order),
            (NOTIFICATION, number("Likes")),
            ("Choose a service", number(r"Instagram Likes · (?!real|instant)")),
            ("Order this", number("🛒 Order this")),
            ("Step 1 of 2", "https://www.instagram.com/p/again"),
            ("Step 2 of 2", "300"),
            ("Please check your order", number("✅ Confirm")),
            ("Order #7000001", None),
        ],
        clock=clock,
    )
    wizard, notification = chat.split(NOTIFICATION, 1)
    assert "Choose a category" in wizard
    assert "Choose a service" in notification


async def test_a_buttons_pop_up_answer_is_printed(tmp_path: Path) -> None:
    def wizards(label: str) -> Callable[[ScriptedPerson], str]:
        return lambda person: "".join(person.button(label))  # `A1`: not the latest message

    chat = await demo_with(
        tmp_path,
        [
            *SCRIPT[:5],
            ("Step 1 of 2", "/start"),  # the wizard's buttons stay, but the order is gone
            ("Hi, Demo", wizards("⬅️ Back")),
            ("ⓘ This menu has expired", None),
        ],
    )
    assert "\n  ⓘ This menu has expired\n" in chat


async def test_comments_are_sent_as_one_message_of_several_lines(tmp_path: Path) -> None:
    comments = ["Love it!", "Great shot", "Wow", "So good", "Nice colours"]
    chat = await demo_with(
        tmp_path,
        [
            ("🛒 New order", "1"),
            ("Choose a platform", "1"),
            ("Choose a category", lambda person: person.button("Comments")[1]),
            ("Order this", "1"),
            ("Step 1 of 2", "https://www.instagram.com/p/demo"),
            # Pasted between two fences; the panel wants at least 5 comments, one a line.
            ("Step 2 of 2", '"""'),
            *(("", comment) for comment in comments),
            ("", '"""'),
            ("Please check your order", "1"),
            ("Order #7000000", None),
        ],
    )
    check = chat[chat.index("Please check your order") :]
    assert "12.50" in check.split("\n>")[0]  # 5 comments at 2.50 each


async def test_several_links_are_pasted_in_the_terminal(tmp_path: Path) -> None:
    posts = [f"https://www.instagram.com/p/demo{n}" for n in range(3)]
    chat = await demo_with(
        tmp_path,
        [
            *SCRIPT[:4],
            ("Order this", lambda person: person.button("📋 Several links")[1]),
            ("several links", '"""'),
            ("", posts[0]),
            ("", f"{posts[1]} 500"),
            ("", posts[2]),
            ("", '"""'),
            ("One amount for the 2 links", "1000"),
            ("Please check your orders", lambda person: person.button("✅ Place 3 orders")[1]),
            ("✅ Placed 3 of 3 orders", None),
        ],
    )
    outcome = chat[chat.index("✅ Placed 3 of 3 orders") :]
    assert "#7000000" in outcome
    assert "#7000002" in outcome


async def test_the_demo_person_can_watch_the_balance(tmp_path: Path) -> None:
    chat = await demo_with(
        tmp_path,
        [
            ("🛒 New order", "/settings"),
            ("💰 Low balance", lambda person: "".join(person.button("💰 Low-balance warning"))),
            ("Send an amount", "6000"),  # above the demo's 5,000: told at once
            ("Admin: the panel balance the team orders on is", None),
        ],
    )
    assert "under the RUB\xa06,000.00 you asked me to watch" in chat
    assert "went wrong" not in chat


async def test_the_mini_app_link_orders_into_the_demo_chat(tmp_path: Path) -> None:
    def order_on_the_page(person: ScriptedPerson) -> None:
        """What the page does, by its link: the page, a service's form, Order."""
        found = re.search(r"Mini App, in a browser: (\S+)", person.out.getvalue())
        assert found is not None
        page, fragment = found[1].split("#", 1)
        signed = {INIT_DATA_HEADER: parse_qs(fragment)["tgWebAppData"][0]}
        with httpx.Client(timeout=10) as http:
            assert "static/app.js" in http.get(page).text
            form = http.get(f"{page}api/service/389", headers=signed).json()
            order = {
                "service": "389",
                "values": {"url": "https://instagram.com/p/demo", "count": "100"},
                "token": "demo-confirmation",
                "terms": form["terms"],
            }
            answer = http.post(f"{page}api/order", headers=signed, json=order)
        assert answer.json()["outcome"] == "placed", answer.text

    chat = await demo_with(tmp_path, [("Mini App", order_on_the_page), ("Order #7000000", None)])
    assert "https://instagram.com/p/demo" in chat  # the card, in the demo's chat


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (["one line"], "one line"),
        (["first \\", "second\\", "third"], "first \nsecond\nthird"),
        (['"""', "a", "", "b \\", '"""'], "a\n\nb \\"),
        (['"""', "unclosed"], "unclosed"),
        (["ends with \\"], "ends with "),
    ],
)
async def test_several_lines_make_one_message(typed: list[str], message: str) -> None:
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    for line in [*typed, None]:
        lines.put_nowait(None if line is None else line + "\n")
    assert await read_message(lines, io.StringIO()) == message


async def start_demo(workdir: Path, *options: str) -> asyncio.subprocess.Process:
    """`smmbot demo` in its own process, talked to through its stdin and stdout; the bot of
    this checkout, whichever one the environment has installed."""
    path = os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))
    return await start_bot(
        "demo",
        *options,
        cwd=workdir,
        env={"PYTHONPATH": path},
        stdin=PIPE,
        stdout=PIPE,
        stderr=STDOUT,
    )


@pytest.mark.slow
async def test_the_demo_command_through_its_stdin_and_stdout(tmp_path: Path) -> None:
    process = await start_demo(tmp_path, "--time-scale", "5000")
    assert process.stdin is not None
    assert process.stdout is not None
    shown = everything = ""

    async def wait_for(*texts: str) -> None:
        nonlocal shown, everything
        while not any(text in shown for text in texts):
            chunk = await asyncio.wait_for(process.stdout.read(4096), 30)  # type: ignore[union-attr]
            assert chunk, f"the demo ended early:\n{shown}"
            shown += chunk.decode()
            everything += chunk.decode()

    try:
        for expected, typed in SCRIPT:
            await wait_for(expected)
            shown = shown[shown.index(expected) + len(expected) :]
            if typed is not None:
                process.stdin.write(f"{typed}\n".encode())
                await process.stdin.drain()
        await wait_for(*ENDINGS)
        process.stdin.close()  # end of input: the demo says goodbye and exits
        await wait_for("Bye!")
        await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
    assert process.returncode == 0
    # The bot's warnings (each placed order logs one) go to its log, not into the chat.
    assert "The bot's log: " in everything
    assert "panel took order" not in everything
    assert "WARNING" not in everything


@pytest.mark.slow
async def test_input_typed_ahead_is_read_against_the_screen_it_was_meant_for(
    tmp_path: Path,
) -> None:
    # Every line at once, then the end of input (`printf ... | smmbot demo`): each line waits
    # for the answer to the one before, so "1" presses the button of the screen it was meant for.
    typed = "".join(f"{line}\n" for _, line in SCRIPT if line is not None)
    process = await start_demo(tmp_path)
    shown, _ = await asyncio.wait_for(process.communicate(typed.encode()), 60)
    chat = shown.decode()
    assert "Order #7000000" in chat, chat
    assert chat.rstrip().endswith("Bye!")
    assert process.returncode == 0
