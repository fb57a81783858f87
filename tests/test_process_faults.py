"""`smmbot run` as its own process, killed or stopped while an order is being sent: the person
always learns what became of it, and no order stays "sending…"."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.sandbox.panel import Account, SandboxPanel
from bot.sandbox.telegram import TelegramEmulator
from tests.flows import up_to_confirmation
from tests.helpers import eventually, said
from tests.processes import pointed_at, start_bot

pytestmark = pytest.mark.slow


class BotProcess:
    """`python -m bot run` against the emulators, its output in a file."""

    def __init__(self, env: dict[str, str], workdir: Path, emulator: TelegramEmulator) -> None:
        self.env = env
        self.workdir = workdir
        self.emulator = emulator
        self.process: asyncio.subprocess.Process | None = None
        self.log = workdir / "bot.log"

    async def start(self) -> None:
        self.emulator.polled.clear()
        with self.log.open("a") as log:
            self.process = await start_bot(
                "run", env=self.env, cwd=self.workdir, stdout=log, stderr=log
            )
        polled = asyncio.ensure_future(self.emulator.polled.wait())
        exited = asyncio.ensure_future(self.process.wait())
        await asyncio.wait({polled, exited}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        polled.cancel()
        exited.cancel()
        assert self.emulator.polled.is_set(), self.log.read_text()

    async def stop(self, signum: int = signal.SIGTERM) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signum)
        return await asyncio.wait_for(self.process.wait(), 60)


@asynccontextmanager
async def bot_process(
    telegram: tuple[TelegramEmulator, str], panel_url: str, alice: Account, tmp_path: Path
) -> AsyncIterator[BotProcess]:
    emulator, _ = telegram
    env = pointed_at(telegram, panel_url, alice) | {
        "ALLOWED_USERS": "501",
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "SMMLABA_TIMEOUT_SECONDS": "2",
        "LOG_LEVEL": "INFO",
    }
    bot = BotProcess(env, tmp_path, emulator)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop(signal.SIGKILL)
    assert not emulator.violations, emulator.violations


def order_states(database: Path) -> list[str]:
    with sqlite3.connect(database) as raw:
        return [row[0] for row in raw.execute("SELECT state FROM orders ORDER BY id")]


async def test_a_kill_during_add_is_told_after_the_restart(
    telegram: tuple[TelegramEmulator, str],
    panel: SandboxPanel,
    panel_url: str,
    alice: Account,
    tmp_path: Path,
) -> None:
    emulator, _ = telegram
    anna = emulator.user(501, "Anna")
    async with bot_process(telegram, panel_url, alice, tmp_path) as bot:
        await up_to_confirmation(anna, amount="250", patient=True)
        panel.set_faults(lost_answer_rate=1.0, actions=["add"], hang_seconds=60)
        await anna.press("✅ Confirm", wait=False)
        await eventually(lambda: panel.calls["add"] == 1 and len(panel.orders) == 1)
        assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
        assert order_states(tmp_path / "bot.sqlite3") == ["submitting"]
        panel.set_faults()

        await bot.start()
        await eventually(lambda: said(anna, "may or may not exist"), within=20)
        # Told by the restarted bot as a card of its own, with the buttons to settle it.
        [card] = [m for m in anna.bot_messages if "may or may not exist" in m.text]
        assert "📦 Order №1" in card.text
        assert card.button_labels == ["✅ It's on the panel", "✖️ It isn't there"]
        assert order_states(tmp_path / "bot.sqlite3") == ["uncertain"]
        # The confirmation left on screen cannot start that order again: text typed at it
        # (which would show a fresh confirmation) ends the wizard instead, and its buttons go.
        [confirmation] = [m for m in anna.bot_messages if "Please check your order" in m.text]
        confirm = confirmation.find_button("✅ Confirm")
        assert confirm is not None
        assert confirm.callback_data is not None
        await anna.send("ok?", wait=False)
        await eventually(lambda: said(anna, "This order was already sent"), within=20)
        assert confirmation.button_labels == []
        answers = len(anna.callback_answers)
        await anna.press_data(confirm.callback_data, message=confirmation, wait=False)
        await eventually(lambda: len(anna.callback_answers) > answers, within=20)
        assert anna.callback_answers[-1] == "This order was already sent."
        await anna.send("/orders")
        await eventually(lambda: "Your orders" in anna.last_message.text)
        assert "sending" not in anna.last_message.text
        assert panel.calls["add"] == 1
        assert await bot.stop() == 0


async def test_a_stop_during_add_waits_for_the_answer_and_tells_it(
    telegram: tuple[TelegramEmulator, str],
    panel: SandboxPanel,
    panel_url: str,
    alice: Account,
    tmp_path: Path,
) -> None:
    emulator, _ = telegram
    anna = emulator.user(501, "Anna")
    async with bot_process(telegram, panel_url, alice, tmp_path) as bot:
        await up_to_confirmation(anna, amount="250", patient=True)
        panel.set_faults(latency=1.5, actions=["add"])  # slow, within the 2 s timeout
        await anna.press("✅ Confirm", wait=False)
        await eventually(lambda: panel.calls["add"] == 1)
        assert await bot.stop(signal.SIGTERM) == 0
        [panel_id] = list(panel.orders)
        # The answer waited for is told in the confirmation, which became the order's card.
        [card] = [m for m in anna.bot_messages if f"📦 Order #{panel_id}" in m.text]
        assert "State: placed" in card.text, anna.transcript
        assert "Please check your order" not in anna.transcript
        assert order_states(tmp_path / "bot.sqlite3") == ["placed"]
        log = bot.log.read_text()
        assert "Cannot operate on a closed database" not in log
        assert "Traceback" not in log
