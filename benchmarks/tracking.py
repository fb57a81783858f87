"""Tracking many open orders: the panel sees a steady, bounded request rate, and an outage
costs only the breaker's probes.

10,000 open orders (by default) in a real SQLite file, checked over real HTTP against the
sandbox panel, in three runs: at the default per-account rate, during a panel outage, and
with the rate limit lifted (the pipeline's own ceiling on this machine). Prints one JSON line.

    python -m benchmarks.tracking [--orders 10000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.sandbox.panel import SandboxClock, demo_panel, serve
from bot.smmlaba import Panel, RetryPolicy, SmmLabaClient
from bot.tracker import Tracker, TrackerConfig
from storage import users
from storage.db import Database
from storage.orders import Order


async def seed(db: Database, panel_orders: list[str], account: str) -> None:
    await users.touch(db, 1, chat_id=1, first_name="Bench", telegram_language="en")
    now = time.time()
    async with db.transaction() as tx:
        await tx.executemany(
            """
            INSERT INTO orders (token, user_id, chat_id, account, state, service_id,
                                service_name, params, quantity, panel_order_id, next_check_at,
                                created_at, updated_at)
            VALUES (?, 1, 1, ?, 'placed', '389', 'Instagram Likes', '{}', 1000, ?, 0, ?, ?)
            """,
            [(f"t{order_id}", account, order_id, now, now) for order_id in panel_orders],
        )


async def run_for(tracker: Tracker, seconds: float) -> None:
    tracker.start()
    await asyncio.sleep(seconds)
    await tracker.stop()


def per_second_peak(times: list[float]) -> int:
    return max(Counter(int(t) for t in times).values(), default=0)


async def measure(order_count: int, seconds: float) -> dict[str, Any]:
    panel, account = demo_panel(clock=SandboxClock(scale=0.0))
    ids = [
        panel.create_order(account.username, "389", "https://instagram.com/p/x", 1000)
        for _ in range(order_count)
    ]

    def checks_since(mark: int) -> list[float]:
        return [r.at for r in panel.requests[mark:] if r.action == "check"]

    with tempfile.TemporaryDirectory() as workdir:
        async with (
            serve(panel) as url,
            SmmLabaClient(
                account.username, SecretStr(account.api_key), url=url, retry=RetryPolicy(attempts=1)
            ) as client,
        ):
            db = await Database.open(Path(workdir) / "bench.sqlite3")
            await seed(db, ids, client.username)

            def panel_for(_order: Order) -> Panel:
                return client

            default = TrackerConfig()
            mark = len(panel.requests)
            await run_for(Tracker(db, panel_for, default), seconds)
            limited = checks_since(mark)

            panel.set_faults(html_rate=1.0, actions=["check"])
            outage = seconds * 2
            mark = len(panel.requests)
            await run_for(Tracker(db, panel_for, default), outage)
            during_outage = len(checks_since(mark))
            panel.set_faults()

            await db.execute("UPDATE orders SET next_check_at = 0")
            lifted = TrackerConfig(rate_per_second=100_000)
            mark = len(panel.requests)
            started = time.monotonic()
            await run_for(Tracker(db, panel_for, lifted), seconds)
            unthrottled = len(checks_since(mark)) / (time.monotonic() - started)
            await db.close()
    return {
        "open_orders": order_count,
        "rate_limit_per_s": default.rate_per_second,
        "checks_in_run": len(limited),
        "run_seconds": seconds,
        "peak_checks_in_one_second": per_second_peak(limited),
        "outage_seconds": outage,
        "requests_during_outage": during_outage,
        "unthrottled_checks_per_s": round(unthrottled, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.orders, args.seconds))))


if __name__ == "__main__":
    main()
