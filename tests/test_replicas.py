"""Three replicas of `smmbot run` (separate processes) on one PostgreSQL and one Redis, behind
the Telegram emulator's webhook deliveries spread round-robin, as a load balancer would: many
people order at once, one replica is killed with SIGKILL mid-run and started again, and
still every confirmed order is placed exactly once, every order's end is told once, and no
conversation is lost or forked."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from cryptography.fernet import Fernet

from bot.sandbox.panel import Account, SandboxPanel
from bot.sandbox.servers import free_port
from bot.sandbox.telegram import (
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    SimulatedUser,
    TelegramEmulator,
    Violation,
)
from tests.flows import LINK, place_order
from tests.helpers import eventually
from tests.processes import pointed_at, start_bot

pytestmark = pytest.mark.slow

PEOPLE = range(1000, 1100)
# What Telegram answers a request that repeats one it carried out already.
REPEATED = {
    QUERY_TOO_OLD,
    NOT_MODIFIED,
    "Bad Request: message to delete not found",
    "Bad Request: message to edit not found",
}
SECRET = "replicas-Secret_1"


class Replica:
    """`python -m bot run` in webhook mode on its own port, its output in a file."""

    def __init__(self, number: int, env: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.env = env | {"WEBHOOK_URL": self.url, "WEBHOOK_PORT": str(self.port)}
        self.workdir = workdir
        self.log = workdir / f"replica{number}.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("a") as log:
            self.process = await start_bot(
                "run", env=self.env, cwd=self.workdir, stdout=log, stderr=log
            )

    async def ready(self) -> None:
        async def answers() -> bool:
            assert self.process is not None
            assert self.process.returncode is None, self.log.read_text()
            try:
                async with httpx.AsyncClient() as http:
                    reply = await http.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
            except httpx.HTTPError:
                return False
            return reply.status_code == 200

        await eventually(answers, within=60, interval=0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 60)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@pytest.fixture
async def replicas(
    telegram: tuple[TelegramEmulator, str],
    panel_url: str,
    alice: Account,
    postgres_url: str,
    redis_server: str,
    tmp_path: Path,
) -> AsyncIterator[list[Replica]]:
    emulator, _ = telegram
    env = pointed_at(telegram, panel_url, alice) | {
        "ALLOWED_USERS": ",".join(str(person) for person in PEOPLE),
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_server,
        "BOT_SECRET_KEY": Fernet.generate_key().decode(),
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_HOST": "127.0.0.1",
        "CHECK_INTERVAL_SECONDS": "0.5",
        "THROTTLE_BURST": "1000",
        "THROTTLE_PER_SECOND": "1000",
    }
    started = [Replica(number, env, tmp_path) for number in range(3)]
    emulator.webhook_targets = [replica.url for replica in started]
    emulator.handling_timeout = 90.0  # three bots, a database and Redis share two cores
    try:
        # One at a time: each migrates, or finds the schema another one made.
        for replica in started:
            await replica.start()
            await replica.ready()
        yield started
    finally:
        for replica in started:
            await replica.stop()


def chat_of(violation: Violation) -> int:
    if "chat_id" in violation.parameters:
        return int(violation.parameters["chat_id"])
    # The emulator's query ids are the person's id, then eight digits of a count.
    return int(str(violation.parameters["callback_query_id"])[:-8])


def in_chat(person: SimulatedUser, text: str) -> Callable[[], bool]:
    return lambda: text in person.transcript


def messages_sent(emulator: TelegramEmulator) -> Counter[int]:
    """Messages of their own (not edits) Telegram took, by chat."""
    return Counter(
        int(call.parameters["chat_id"])
        for call in emulator.calls
        if call.method == "sendMessage" and call.status == 200
    )


async def orders_by_person(postgres_url: str) -> dict[int, list[dict[str, Any]]]:
    connection = await asyncpg.connect(postgres_url)
    try:
        rows = await connection.fetch("SELECT * FROM orders ORDER BY id")
    finally:
        await connection.close()
    placed: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        placed.setdefault(row["user_id"], []).append(dict(row))
    return placed


async def test_three_replicas_one_killed_mid_run_place_and_tell_everything_once(
    replicas: list[Replica],
    telegram: tuple[TelegramEmulator, str],
    panel: SandboxPanel,
    postgres_url: str,
) -> None:
    emulator, _ = telegram
    people = [emulator.user(person, f"P{person}") for person in PEOPLE]
    confirmed: list[SimulatedUser] = []

    async def order(person: SimulatedUser) -> None:
        try:
            await place_order(person, link=f"{LINK}{person.id}", amount="1000")
        except (AssertionError, TimeoutError) as exc:
            raise AssertionError(f"{person}: {exc!r}\n{person.transcript}") from exc
        confirmed.append(person)

    async def kill_one_mid_run() -> None:
        await eventually(lambda: len(confirmed) >= 30, within=300, interval=0.05)
        victim = replicas[1]
        victim.kill()
        await asyncio.sleep(0.5)  # deliveries to it fail meanwhile, and go to the others
        await victim.start()
        await victim.ready()

    await asyncio.gather(kill_one_mid_run(), *(order(person) for person in people))

    # One order per confirmation, never two on the panel. An order the killed replica had
    # written but may or may not have sent (`add` under way) is "uncertain", as designed:
    # the panel has no way to ask whether it took it, so the person is told to look there.
    assert len(confirmed) == len(people)

    async def everyone_has_an_order() -> bool:
        return len(await orders_by_person(postgres_url)) == len(people)

    # A Confirm the killed replica held is handled once its lock on the person expires.
    await eventually(everyone_has_an_order, within=120, interval=0.5)
    placed = await orders_by_person(postgres_url)
    assert sorted(placed) == list(PEOPLE)
    on_panel = Counter(order.url for order in panel.orders.values())
    assert all(count == 1 for count in on_panel.values()), on_panel.most_common(3)
    uncertain = []
    for person in people:
        [mine] = placed[person.id]
        if mine["state"] == "uncertain":
            uncertain.append(person.id)
            await eventually(in_chat(person, "check the panel"), within=150)
            continue
        assert on_panel[f"{LINK}{person.id}"] == 1
        # No conversation lost or forked: each person sees their order's card (a Confirm
        # the killed replica had taken is told by the replica it was delivered to next).
        await eventually(in_chat(person, f"#{mine['panel_order_id']}"), within=150)
        assert "went wrong" not in person.transcript
    # Only what the killed replica had under way at that moment: a few, not a share.
    assert len(uncertain) <= 5, uncertain
    assert panel.calls["add"] == len(people) - len(uncertain) + sum(
        f"{LINK}{person}" in on_panel for person in uncertain
    )
    deliveries = emulator.webhook_deliveries
    assert {delivery.target for delivery in deliveries if delivery.ok} == {
        replica.url for replica in replicas
    }  # all three served, the restarted one too

    # Every order ends, and each end is told once, whichever replica saw it.
    sent_before = messages_sent(emulator)
    panel.clock.advance(10_000)

    async def all_told() -> bool:
        connection = await asyncpg.connect(postgres_url)
        try:
            open_orders = await connection.fetchval(
                "SELECT count(*) FROM orders WHERE next_check_at IS NOT NULL"
            )
            pending = await connection.fetchval(
                "SELECT count(*) FROM outbox WHERE status = 'pending'"
            )
        finally:
            await connection.close()
        return bool(open_orders == 0 and pending == 0)

    await eventually(all_told, within=240, interval=0.5)
    await asyncio.sleep(2)  # time enough for a second telling to show
    sent_after = messages_sent(emulator)
    told = {person.id: sent_after[person.id] - sent_before[person.id] for person in people}
    # An uncertain order is not tracked: nothing more is told about it.
    expected = {person.id: 0 if person.id in uncertain else 1 for person in people}
    assert told == expected, {who: n for who, n in told.items() if n != expected[who]}
    # The refusals a kill may cause: an update the killed replica had handled in part,
    # delivered again and handled again, repeats what was done already (a second answer to
    # a tap, a second delete of a typed value, an edit to what the card shows already), and
    # Telegram refuses the repeat. Only in the chats of updates delivered again; nothing else
    # Telegram would refuse.
    delivered_again = {delivery.chat for delivery in deliveries if not delivery.ok}
    repeats = [v for v in emulator.violations if v.description in REPEATED]
    assert {chat_of(violation) for violation in repeats} <= delivered_again
    assert [v for v in emulator.violations if v not in repeats] == []
