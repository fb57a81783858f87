"""One tracker cycle over many open orders, on either backend, with one or more replicas.

N open orders (all due) in the sandbox panel, which runs in its own process and answers each
request after `--latency-ms`; each replica is a process running the bot's `Tracker` at
`--concurrency` with the rate limit lifted. Figures: the cycle's time (every order checked
once) against the ideal N·L/C; the same for the bot's panel client checking them all alone
at the same concurrency (no tracker, no database: the floor on this machine); the trackers'
CPU per check against a bare loop of httpx POSTs to the same panel at the same concurrency;
the largest replica's memory; how many orders were checked twice. With `--backend postgres`
a throwaway PostgreSQL is started, as the tests do, unless DATABASE_URL names one. Prints
one JSON line last.

    python -m benchmarks.tracker [--orders 10000] [--latency-ms 50] [--concurrency 32]
        [--backend sqlite|postgres] [--replicas 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from bot.sandbox import servers
from bot.smmlaba import OrderStatus, RetryPolicy, SmmLabaClient
from bot.smmlaba.pool import RESERVED, panel_http
from bot.tracker import Tracker, TrackerConfig
from storage import users
from storage.db import Database

USERNAME = "bench@example.com"


@contextlib.contextmanager
def panel_process(latency_ms: float, api_key: str) -> Iterator[str]:
    port = servers.free_port()
    command = [
        sys.executable, "-m", "bot", "sandbox-panel", "--port", str(port),
        "--latency", str(latency_ms / 1000), "--time-scale", "0", "--apikey", api_key,
        "--username", USERNAME, "--balance", "1000000000", "--seed", "1",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket_to(port):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/vkapi/v1/"
    finally:
        process.terminate()
        process.wait(10)


def socket_to(port: int) -> Any:
    import socket

    return socket.create_connection(("127.0.0.1", port), 0.2)


async def seed(url: str, panel_url: str, api_key: str, count: int) -> list[str]:
    """`count` orders placed on the panel, and due in the database."""
    gate = asyncio.Semaphore(64)
    async with SmmLabaClient(
        USERNAME, SecretStr(api_key), url=panel_url, http=panel_http(64 + RESERVED)
    ) as client:

        async def add() -> str:
            async with gate:
                placed = await client.add(
                    "389", {"url": "https://instagram.com/p/x", "count": "1000"}
                )
                return placed.order_id

        ids = await asyncio.gather(*(add() for _ in range(count)))
    async with await Database.open(url) as db:
        await users.touch(db, 1, chat_id=1, first_name="Bench", telegram_language="en")
        now = time.time()
        async with db.transaction() as tx:
            await tx.executemany(
                """
                INSERT INTO orders (token, user_id, chat_id, account, state, service_id,
                                    service_name, params, quantity, panel_order_id,
                                    next_check_at, created_at, updated_at)
                VALUES (?, 1, 1, ?, 'placed', '389', 'Instagram Likes', '{}', 1000, ?, 0, ?, ?)
                """,
                [(f"t{order_id}", USERNAME, order_id, now, now) for order_id in ids],
            )
    return list(ids)


class Recorded:
    """The tracker's panel, noting which orders it checked."""

    def __init__(self, client: SmmLabaClient) -> None:
        self.client = client
        self.checked: list[str] = []

    async def check(self, order_id: str) -> OrderStatus:
        self.checked.append(order_id)
        return await self.client.check(order_id)


def tracking_client(panel_url: str, api_key: str, concurrency: int) -> SmmLabaClient:
    """A client as the tracker's: one try per check, a lane per request in flight."""
    return SmmLabaClient(
        USERNAME,
        SecretStr(api_key),
        url=panel_url,
        retry=RetryPolicy(attempts=1),
        timeout=60,
        http=panel_http(concurrency + RESERVED),
        background=True,
    )


async def replica(url: str, panel_url: str, api_key: str, concurrency: int) -> dict[str, Any]:
    """One replica's tracker until no order is due; its figures."""
    async with (
        await Database.open(url) as db,
        tracking_client(panel_url, api_key, concurrency) as client,
    ):
        panel = Recorded(client)
        config = TrackerConfig(
            base_interval=3600, concurrency=concurrency, rate_per_second=1e9, idle_poll=0.05
        )
        tracker = Tracker(db, lambda _order: panel, config)  # type: ignore[arg-type,return-value]
        started, cpu = time.time(), time.process_time()
        tracker.start()
        while True:
            await asyncio.sleep(0.05)
            # An order checked is due again only after the cycle; one taken but not yet
            # recorded keeps its old time.
            due = await db.fetchone(
                "SELECT 1 FROM orders WHERE next_check_at <= ? LIMIT 1", (started,)
            )
            if due is None:
                break
        finished, cpu = time.time(), time.process_time() - cpu
        await tracker.stop()
    return {
        "checked": panel.checked,
        "started": started,
        "finished": finished,
        "cpu_s": cpu,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


async def bare_client(panel_url: str, api_key: str, ids: list[str], concurrency: int) -> float:
    """Seconds the bot's panel client alone (no tracker, no database) takes to check `ids` at
    `concurrency`: the floor of the tracker's cycle on this machine."""
    gate = asyncio.Semaphore(concurrency)
    async with tracking_client(panel_url, api_key, concurrency) as client:

        async def check(order_id: str) -> None:
            async with gate:
                await client.check(order_id)

        started = time.perf_counter()
        await asyncio.gather(*(check(order_id) for order_id in ids))
        return time.perf_counter() - started


async def bare_httpx(panel_url: str, api_key: str, ids: list[str], concurrency: int) -> float:
    """CPU seconds per `check` POST made by plain httpx at the same concurrency."""
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:

        async def check(order_id: str) -> None:
            async with gate:
                form = {
                    "username": USERNAME,
                    "apikey": api_key,
                    "action": "check",
                    "orderid": order_id,
                }
                reply = await http.post(panel_url, data=form)
                reply.raise_for_status()

        cpu = time.process_time()
        await asyncio.gather(*(check(order_id) for order_id in ids))
        return (time.process_time() - cpu) / len(ids)


async def measure(
    orders: int, latency_ms: float, concurrency: int, backend: str, replicas: int
) -> dict[str, Any]:
    api_key = secrets.token_hex(16)
    with (
        tempfile.TemporaryDirectory() as workdir,
        panel_process(latency_ms, api_key) as panel_url,
    ):
        async with servers.database_for(backend, Path(workdir), "bench_tracker") as url:
            ids = await seed(url, panel_url, api_key, orders)
            command = [
                sys.executable,
                "-m",
                "benchmarks.tracker",
                "--replica",
                url,
                panel_url,
                api_key,
            ]
            workers = [
                await asyncio.create_subprocess_exec(
                    *command, "--concurrency", str(concurrency), stdout=asyncio.subprocess.PIPE
                )
                for _ in range(replicas)
            ]
            results = [json.loads((await worker.communicate())[0]) for worker in workers]
            floor = await bare_client(panel_url, api_key, ids, concurrency)
            baseline = await bare_httpx(panel_url, api_key, ids[: min(len(ids), 3000)], concurrency)
    checked = Counter(order_id for result in results for order_id in result["checked"])
    missed = len(set(ids) - set(checked))
    if missed:
        raise RuntimeError(f"{missed} orders were not checked")
    cycle = max(r["finished"] for r in results) - min(r["started"] for r in results)
    ideal = orders * latency_ms / 1000 / concurrency
    cpu_per_check = sum(r["cpu_s"] for r in results) / sum(checked.values())
    return {
        "orders": orders,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "replicas": replicas,
        "backend": backend,
        "cycle_s": round(cycle, 2),
        "ideal_s": round(ideal, 2),
        "ratio_to_ideal": round(cycle / ideal, 3),
        "client_ratio_to_ideal": round(floor / ideal, 3),
        "cpu_ms_per_check": round(cpu_per_check * 1000, 3),
        "httpx_cpu_ms_per_request": round(baseline * 1000, 3),
        "cpu_ratio_to_httpx": round(cpu_per_check / baseline, 3),
        "rss_mb": round(max(r["rss_mb"] for r in results), 1),
        "checked_twice": sum(1 for count in checked.values() if count > 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument(
        "--replica", nargs=3, metavar=("DATABASE", "PANEL", "APIKEY"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.replica:
        url, panel_url, api_key = args.replica
        print(json.dumps(asyncio.run(replica(url, panel_url, api_key, args.concurrency))))
        return
    if args.backend == "sqlite" and args.replicas > 1:
        parser.error("SQLite is for one replica: use --backend postgres")
    figures = asyncio.run(
        measure(args.orders, args.latency_ms, args.concurrency, args.backend, args.replicas)
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
