"""How fast the client can `check` orders against the local sandbox panel.

The ceiling of tracking throughput on this machine, before any rate limit: N orders checked
with bounded concurrency over one connection pool. Prints one JSON line last.

    python -m benchmarks.panel_check_throughput [--orders 2000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from pydantic import SecretStr

from bot.sandbox.panel import SandboxClock, demo_panel, serve
from bot.smmlaba import SmmLabaClient


async def measure(orders: int, concurrency: int) -> dict[str, float | int]:
    panel, account = demo_panel(balance="100000000", clock=SandboxClock(scale=0.0))
    async with (
        serve(panel) as url,
        SmmLabaClient(account.username, SecretStr(account.api_key), url=url) as client,
    ):
        ids = [
            (await client.add("421", {"url": "https://vm.tiktok.com/x", "count": "1000"})).order_id
            for _ in range(orders)
        ]
        gate = asyncio.Semaphore(concurrency)
        latencies: list[float] = []

        async def check(order_id: str) -> None:
            async with gate:
                started = time.perf_counter()
                await client.check(order_id)
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(check(order_id) for order_id in ids))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "orders": orders,
        "concurrency": concurrency,
        "checks_per_second": round(orders / elapsed, 1),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "latency_p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.orders, args.concurrency))))


if __name__ == "__main__":
    main()
