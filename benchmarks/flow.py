"""The ordering conversation under load: N simulated users each place a full order.

The bot runs in its own process (`python -m bot run`), as in production; the sandbox panel (no
added latency) in another; this one runs the Telegram emulator and the users. Two runs:

- throughput: users act as soon as they see the bot's answer -> updates handled per second;
- latency: users think `--think-ms` between steps, as people do -> p50/p99 from an update's
  delivery to the bot's last request answering it.

Then a bare aiogram bot (no FSM, storage, catalog or panel) answers the same number of updates
with the same kinds of Telegram calls: the floor of this stack on this machine.

Three rounds of all that by default, each with a fresh bot, its own users and database: this
machine is shared and a single round's figures moved by a factor of two from one minute to
the next. The figures are medians over the rounds (`each_round` lists the main ones).

With `--backend postgres` the bot keeps its data in a throwaway PostgreSQL (started as the
tests do, unless DATABASE_URL names one); with `--replicas N` (N > 1) it runs as N processes
sharing it and a throwaway Redis, in webhook mode, the emulator spreading its deliveries over
them round-robin as a load balancer would. `bot_cpu_ms_per_update` then sums the replicas.

    python -m benchmarks.flow [--users 200] [--think-ms 1000] [--rounds 3]
        [--backend sqlite|postgres] [--replicas 1]

Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiogram import Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart, Filter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from cryptography.fernet import Fernet

from bot.sandbox import servers
from bot.sandbox.telegram import Call, SimulatedUser, TelegramEmulator
from bot.sandbox.telegram import serve as serve_telegram
from bot.telegram_session import BotSession
from bot.tuning import tune_process
from handlers.filters import TypedText

# One order of Instagram Likes: a command, five presses, two typed values, Confirm.
FLOW: list[tuple[str, str]] = [
    ("send", "/start"),
    ("press", "🛒 New order"),
    ("press", "Instagram"),
    ("press", "Likes"),
    ("press", "Instagram Likes · RUB\u00a00.50/1K"),  # a service button ends in its price
    ("press", "🛒 Order this"),
    ("send", "https://www.instagram.com/p/benchmark"),
    ("send", "250"),
    ("press", "✅ Confirm"),
]
# The bare bot's buttons: "Done" (the last press, like Confirm) answers with three calls.
BARE_FLOW = [(kind, "Next" if kind == "press" else text) for kind, text in FLOW[:-1]] + [
    ("press", "Done")
]


@dataclass
class Tracker:
    """Knows when the bot has answered an update. The person sees the answer with the first
    request that completes it: a button press's answerCallbackQuery, a message's next
    sendMessage to that chat. An update is fully answered by the last request the bot makes
    to that chat for it (the outcome, the old prompt's retired buttons...): that is what
    latency measures, read when the person has thought and is about to act again."""

    emulator: TelegramEmulator
    pending_queries: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    pending_chats: dict[int, asyncio.Future[float]] = field(default_factory=dict)
    query_users: dict[str, int] = field(default_factory=dict)
    last_call: dict[int, float] = field(default_factory=dict)  # chat -> its latest request
    latencies: list[float] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.emulator.call_listeners.append(self.on_call)

    def on_call(self, method: str, params: dict[str, Any]) -> None:
        now = time.monotonic()
        future: asyncio.Future[float] | None = None
        if method == "answerCallbackQuery":
            query = params["callback_query_id"]
            future = self.pending_queries.pop(query, None)
            chat = self.query_users.pop(query, None)
        else:
            chat = params.get("chat_id")
        if isinstance(chat, int):
            self.last_call[chat] = now
            if method == "sendMessage":
                future = self.pending_chats.pop(chat, None)
        if future is not None and not future.done():
            future.set_result(now)

    async def step(self, user: SimulatedUser, kind: str, text: str) -> float | None:
        """Send the update and wait until the person sees the answer; returns the update's
        delivery time to the bot."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        # Registered before the bot could possibly answer: nothing below awaits in between.
        if kind == "send":
            self.pending_chats[user.id] = done
            update_id = await user.send(text, wait=False)
        else:
            update_id = await user.press(text, wait=False)
            update = self.emulator.pending_update(update_id)
            assert update is not None
            query = update["callback_query"]["id"]
            self.pending_queries[query] = done
            self.query_users[query] = user.id
        await asyncio.wait_for(done, 30)
        return self.emulator.delivered_at(update_id)

    def record(self, user: SimulatedUser, text: str, delivered: float | None) -> None:
        """The update's latency: from its delivery to the bot's last request to the chat so
        far."""
        if delivered is not None:
            latency = self.last_call[user.id] - delivered
            self.latencies.append(latency)
            self.by_step.setdefault(text[:24], []).append(latency)


@dataclass
class RunResult:
    updates: int
    seconds: float
    latencies: list[float]
    telegram_calls: int
    by_step: dict[str, list[float]]


async def run_users(
    emulator: TelegramEmulator,
    flow: list[tuple[str, str]],
    users: int,
    first_id: int,
    think_ms: float,
) -> RunResult:
    tracker = Tracker(emulator)
    rng = random.Random(first_id)
    calls_before = len(emulator.calls)

    async def one(user_id: int) -> None:
        user = emulator.user(user_id, f"User{user_id}")
        if think_ms:
            await asyncio.sleep(rng.uniform(0, think_ms) / 1000)
        for kind, text in flow:
            delivered = await tracker.step(user, kind, text)
            if think_ms:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think_ms / 1000)
            tracker.record(user, text, delivered)

    # This process is the instrument, not what is measured: its garbage collector, walking
    # the emulator's call log and the users' chats, stopped it for 130 ms at a time, and
    # every update in flight then read as 130 ms slower. It collects between runs instead.
    gc.collect()
    gc.disable()
    try:
        started = time.monotonic()
        await asyncio.gather(*(one(first_id + n) for n in range(users)))
        seconds = time.monotonic() - started
    finally:
        gc.enable()
    emulator.call_listeners.remove(tracker.on_call)
    telegram_calls = len([c for c in emulator.calls[calls_before:] if c.method != "getUpdates"])
    return RunResult(users * len(flow), seconds, tracker.latencies, telegram_calls, tracker.by_step)


def typical_payload(calls: list[Call]) -> dict[str, str]:
    """The average text length and keyboard size of the flow's messages, so the bare bot
    sends the same amount of Telegram traffic."""
    texts, buttons = [], []
    for call in calls:
        if call.method in ("sendMessage", "editMessageText") and call.status == 200:
            texts.append(len(call.parameters.get("text", "")))
            markup = call.parameters.get("reply_markup")
            rows = json.loads(markup)["inline_keyboard"] if markup else []
            buttons.append(sum(len(row) for row in rows))
    return {
        "BARE_TEXT_CHARS": str(round(statistics.mean(texts or [10]))),
        "BARE_BUTTONS": str(max(2, round(statistics.mean(buttons or [2])))),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def start_process(
    args: list[str], env: dict[str, str], emulator: TelegramEmulator
) -> asyncio.subprocess.Process:
    emulator.polled.clear()
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, env={**os.environ, **env}, stdout=asyncio.subprocess.DEVNULL
    )
    await asyncio.wait_for(emulator.polled.wait(), 60)
    return process


async def start_replicas(
    count: int, env: dict[str, str], emulator: TelegramEmulator
) -> list[asyncio.subprocess.Process]:
    """`count` bots in webhook mode, each on its own port, the emulator delivering to them
    in turn; each is ready when its health route answers."""
    ports = [servers.free_port() for _ in range(count)]
    emulator.webhook_targets = [f"http://127.0.0.1:{port}/hook" for port in ports]
    started = []
    for port, url in zip(ports, emulator.webhook_targets, strict=True):
        webhook = {"WEBHOOK_URL": url, "WEBHOOK_PORT": str(port), "WEBHOOK_HOST": "127.0.0.1"}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env={**os.environ, **env, **webhook},
            stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        started.append(process)
        async with httpx.AsyncClient() as http:
            for _ in range(600):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise TimeoutError(f"replica on port {port} did not start")
    return started


async def stop_process(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 30)
    except TimeoutError:
        process.kill()
        await process.wait()


async def start_panel(stack: AsyncExitStack) -> tuple[str, str, str]:
    """The sandbox panel in a process of its own (so its work doesn't slow the users and the
    emulator): (endpoint URL, username, API key)."""
    api_key = "flow-benchmark-key"
    panel = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox-panel",
        "--port",
        "0",
        "--apikey",
        api_key,
        "--balance",
        "100000000",
        "--time-scale",
        "0",
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    stack.push_async_callback(stop_process, panel)
    assert panel.stdout is not None
    first = (await asyncio.wait_for(panel.stdout.readline(), 60)).decode()
    url = first.split()[3]
    return url, "demo@example.com", api_key


async def panel_calls(url: str) -> int:
    async with httpx.AsyncClient() as http:
        calls = (await http.get(url.replace("/vkapi/v1/", "/_sandbox/calls"))).json()
    return sum(calls.get(action, 0) for action in ("balance", "add", "check"))


@dataclass
class Round:
    """One round: the bot (throughput, then latency) and, right after, the bare bot."""

    throughput: RunResult
    latency: RunResult
    floor: RunResult
    bot_cpu: float
    bare_cpu: float
    panel_calls: int

    @property
    def ratio(self) -> float:
        return self.updates_per_s / self.bare_per_s

    @property
    def updates_per_s(self) -> float:
        return self.throughput.updates / self.throughput.seconds

    @property
    def bare_per_s(self) -> float:
        return self.floor.updates / self.floor.seconds

    def figures(self) -> dict[str, float]:
        return {
            "updates_per_s": round(self.updates_per_s, 1),
            "bare_updates_per_s": round(self.bare_per_s, 1),
            "ratio_to_bare": round(self.ratio, 3),
            "p99_ms": round(percentile(self.latency.latencies, 0.99) * 1000, 1),
        }


async def measure(
    users: int, think_ms: float, rounds: int, backend: str = "sqlite", replicas: int = 1
) -> dict[str, Any]:
    emulator = TelegramEmulator()
    async with AsyncExitStack() as stack:
        postgres_url = redis_url = None
        if backend == "postgres":
            postgres_url = (
                os.environ.get("DATABASE_URL") or stack.enter_context(servers.postgres()).url()
            )
        if replicas > 1:
            redis_url = os.environ.get("REDIS_URL") or stack.enter_context(servers.redis())
        panel_url, username, api_key = await start_panel(stack)
        telegram_url = await stack.enter_async_context(serve_telegram(emulator))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        # Each round has users of its own: three groups of ids (bot throughput, bot latency,
        # bare bot) per round.
        firsts = [1_000_000 * (1 + n) for n in range(3 * rounds)]
        env = {
            "BOT_TOKEN": emulator.token,
            "TELEGRAM_API_URL": telegram_url,
            "SMMLABA_API_URL": panel_url,
            "SMMLABA_USERNAME": username,
            "SMMLABA_APIKEY": api_key,
            "ALLOWED_USERS": ",".join(str(first + n) for first in firsts for n in range(users)),
            "LOG_LEVEL": "WARNING",
            "BOT_SECRET_KEY": Fernet.generate_key().decode(),
            "WEBHOOK_SECRET": "flow-benchmark-secret",
        }
        if redis_url is not None:
            env["REDIS_URL"] = redis_url
        done: list[Round] = []
        payload: dict[str, str] = {}
        for number in range(rounds):
            first_bot, first_latency, first_bare = firsts[3 * number : 3 * number + 3]
            # A fresh database: no open orders from earlier rounds for the tracker to check.
            env["DATABASE_PATH"] = str(workdir / f"bot-{number}.sqlite3")
            if postgres_url is not None:
                env["DATABASE_URL"] = await servers.create_database(postgres_url, f"flow_{number}")
            if replicas > 1:
                bots = await start_replicas(replicas, env, emulator)
            else:
                bots = [await start_process(["-m", "bot", "run"], env, emulator)]
            try:
                before = await panel_calls(panel_url)
                cpu = sum(cpu_seconds(bot.pid) for bot in bots)
                calls_mark = len(emulator.calls)
                throughput = await run_users(emulator, FLOW, users, first_bot, 0)
                calls_end = len(emulator.calls)
                bot_cpu = sum(cpu_seconds(bot.pid) for bot in bots) - cpu
                orders_calls = await panel_calls(panel_url) - before
                latency = await run_users(emulator, FLOW, users, first_latency, think_ms)
            finally:
                for bot in bots:
                    await stop_process(bot)
            emulator.webhook = None  # the bare bot polls
            payload = payload or typical_payload(emulator.calls[calls_mark:calls_end])
            bare = await start_process(
                ["-m", "benchmarks.flow", "--bare-bot"], env | payload, emulator
            )
            try:
                cpu = cpu_seconds(bare.pid)
                floor = await run_users(emulator, BARE_FLOW, users, first_bare, 0)
                bare_cpu = cpu_seconds(bare.pid) - cpu
            finally:
                await stop_process(bare)
            done.append(Round(throughput, latency, floor, bot_cpu, bare_cpu, orders_calls))
    # The machine is shared: each figure is the median over the rounds (the ratio is taken
    # within each round, bot and bare bot measured minutes apart at most).
    latencies = [value for r in done for value in r.latency.latencies]
    by_step: dict[str, list[float]] = {}
    for r in done:
        for step, values in r.latency.by_step.items():
            by_step.setdefault(step, []).extend(values)
    updates = sum(r.throughput.updates for r in done)
    return {
        "users": users,
        "rounds": rounds,
        "backend": backend,
        "replicas": replicas,
        "updates": done[0].throughput.updates,  # per run
        "updates_per_s": round(statistics.median(r.updates_per_s for r in done), 1),
        "bare_updates_per_s": round(statistics.median(r.bare_per_s for r in done), 1),
        "ratio_to_bare": round(statistics.median(r.ratio for r in done), 3),
        "telegram_calls_per_update": round(
            sum(r.throughput.telegram_calls for r in done) / updates, 2
        ),
        "bare_telegram_calls_per_update": round(
            sum(r.floor.telegram_calls for r in done) / sum(r.floor.updates for r in done), 2
        ),
        "bare_payload": {key.lower(): int(value) for key, value in payload.items()},
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(
            statistics.median(percentile(r.latency.latencies, 0.99) for r in done) * 1000, 1
        ),
        "p99_ms_all_rounds": round(percentile(latencies, 0.99) * 1000, 1),
        "throughput_p99_ms": round(
            statistics.median(percentile(r.throughput.latencies, 0.99) for r in done) * 1000, 1
        ),
        "bot_cpu_ms_per_update": round(sum(r.bot_cpu for r in done) / updates * 1000, 2),
        "bare_cpu_ms_per_update": round(
            sum(r.bare_cpu for r in done) / sum(r.floor.updates for r in done) * 1000, 2
        ),
        "panel_calls_per_order": round(sum(r.panel_calls for r in done) / (users * rounds), 2),
        "step_p99_ms": {
            step: round(percentile(values, 0.99) * 1000, 1) for step, values in by_step.items()
        },
        "each_round": [r.figures() for r in done],
        "spec_violations": len(emulator.violations),
    }


def bare_dispatcher(text_chars: int, button_count: int) -> Dispatcher:
    """A dispatcher with nothing but aiogram: the same calls per update as the flow, with
    texts and keyboards of the flow's average size, and filters that run on the event loop
    (a fix to the framework's cost, not our logic: the floor should have it)."""
    filler = "x" * text_chars
    buttons = [
        InlineKeyboardButton(text="Next", callback_data="next"),
        InlineKeyboardButton(text="Done", callback_data="done"),
    ] + [
        InlineKeyboardButton(text=f"Option {n}", callback_data=f"o:{n}:a1b2c3d4")
        for n in range(2, button_count)
    ]
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    )
    dispatcher = Dispatcher(disable_fsm=True)

    async def command(message: Message) -> None:
        await message.answer(f"Menu {filler}", reply_markup=keyboard)

    async def typed(message: Message, bot: Bot) -> None:
        await bot.edit_message_text(
            f"✓ {message.message_id} {filler}",
            chat_id=message.chat.id,
            message_id=message.message_id - 1,
        )
        await message.answer(f"Next step {message.message_id} {filler}", reply_markup=keyboard)

    async def pressed(callback: CallbackQuery) -> None:
        assert isinstance(callback.message, Message)
        await callback.message.edit_text(f"Screen {callback.id} {filler}", reply_markup=keyboard)
        await callback.answer()

    async def done(callback: CallbackQuery, bot: Bot) -> None:
        """Confirm's three calls: the buttons retired, the outcome sent, the tap answered
        (last, so the run counts all three)."""
        assert isinstance(callback.message, Message)
        await callback.message.edit_reply_markup(reply_markup=None)
        await bot.send_message(callback.from_user.id, f"Done {callback.id} {filler}")
        await callback.answer()

    dispatcher.message.register(command, CommandStart())
    dispatcher.message.register(typed, TypedText())
    dispatcher.callback_query.register(done, DataIs("done"))
    dispatcher.callback_query.register(pressed)
    return dispatcher


class DataIs(Filter):
    def __init__(self, data: str) -> None:
        self.data = data

    async def __call__(self, callback: CallbackQuery) -> bool:
        return callback.data == self.data


def run_bare_bot() -> None:
    """The bare bot's process. It gets the bot's session, process tuning and event loop: the
    framework's, not our logic."""
    from bot.app import event_loop_factory

    dispatcher = bare_dispatcher(
        int(os.environ.get("BARE_TEXT_CHARS", "10")), int(os.environ.get("BARE_BUTTONS", "2"))
    )
    bot = Bot(
        os.environ["BOT_TOKEN"],
        session=BotSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])),
    )
    tune_process()
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(dispatcher.start_polling(bot, handle_signals=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--think-ms", type=float, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="figures are medians over rounds")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--bare-bot", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_bot:
        run_bare_bot()
        return
    if args.replicas > 1 and args.backend != "postgres":
        parser.error("several replicas need --backend postgres")
    figures = asyncio.run(
        measure(args.users, args.think_ms, args.rounds, args.backend, args.replicas)
    )
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
