"""`smmbot demo`: a person orders in the terminal chat and is told when the order ends."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from bot.sandbox.console import run_demo
from tests.helpers import eventually
from tests.processes import PIPE, STDOUT, start_bot

SCRIPT = [
    ("[1] 🛒 New order", "1"),
    ("Choose a platform", "1"),
    ("Choose a category", "1"),
    ("Choose a service", "1"),
    ("Order this", "1"),
    ("Step 1 of 2", "https://www.instagram.com/p/demo"),
    ("Step 2 of 2", "250"),
    ("Please check your order", "1"),
    ("placed", None),
]
ENDINGS = ("is complete", "Partly delivered", "Cancelled by the panel", "Refunded")


class ScriptedPerson:
    """Types the next line once the chat shows what it waits for (as a person reads first).
    The demo asks for lines on a thread of its own; the chat is read on the event loop."""

    def __init__(self, out: io.StringIO, loop: asyncio.AbstractEventLoop) -> None:
        self.out = out
        self.loop = loop
        self.seen = 0
        self.steps = iter(SCRIPT)

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

    def read_line(self) -> str:
        for expected, typed in self.steps:
            self.wait_for(expected)
            if typed is not None:
                return typed + "\n"
        self.wait_for(*ENDINGS)
        raise EOFError


async def test_a_full_order_and_its_notification_in_the_terminal(tmp_path: Path) -> None:
    out = io.StringIO()
    person = ScriptedPerson(out, asyncio.get_running_loop())
    await run_demo(
        database=tmp_path / "demo.sqlite3", time_scale=5000, read_line=person.read_line, out=out
    )
    chat = out.getvalue()
    assert "✅ Order #7000000 placed · 0.125 RUB" in chat
    assert any(ending in chat for ending in ENDINGS), chat
    assert "   [1] 📦 View order" in chat
    assert (tmp_path / "demo.sqlite3").exists()


async def start_demo(workdir: Path, *options: str) -> asyncio.subprocess.Process:
    """`smmbot demo` in its own process, talked to through its stdin and stdout."""
    return await start_bot("demo", *options, cwd=workdir, stdin=PIPE, stdout=PIPE, stderr=STDOUT)


@pytest.mark.slow
async def test_the_demo_command_through_its_stdin_and_stdout(tmp_path: Path) -> None:
    process = await start_demo(tmp_path, "--time-scale", "5000")
    assert process.stdin is not None
    assert process.stdout is not None
    shown = ""

    async def wait_for(*texts: str) -> None:
        nonlocal shown
        while not any(text in shown for text in texts):
            chunk = await asyncio.wait_for(process.stdout.read(4096), 30)  # type: ignore[union-attr]
            assert chunk, f"the demo ended early:\n{shown}"
            shown += chunk.decode()

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
    assert "✅ Order #7000000 placed · 0.125 RUB" in chat, chat
    assert chat.rstrip().endswith("Bye!")
    assert process.returncode == 0
