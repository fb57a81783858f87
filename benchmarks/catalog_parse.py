"""How long fetching and parsing a large catalog takes: `services` with thousands of entries,
over real HTTP from the sandbox panel into typed models. Prints one JSON line last.

    python -m benchmarks.catalog_parse [--services 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from pydantic import SecretStr

from bot.sandbox.catalog import synthetic_catalog
from bot.sandbox.panel import demo_panel, serve
from bot.smmlaba import SmmLabaClient


async def measure(size: int, rounds: int) -> dict[str, float | int]:
    panel, account = demo_panel(catalog=synthetic_catalog(size, seed=1))
    timings: list[float] = []
    async with (
        serve(panel) as url,
        SmmLabaClient(account.username, SecretStr(account.api_key), url=url) as client,
    ):
        for _ in range(rounds):
            started = time.perf_counter()
            services = await client.services()
            timings.append(time.perf_counter() - started)
            assert len(services) == size
    return {
        "services": size,
        "rounds": rounds,
        "fetch_and_parse_ms_median": round(statistics.median(timings) * 1000, 1),
        "fetch_and_parse_ms_min": round(min(timings) * 1000, 1),
        "per_service_us": round(statistics.median(timings) / size * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.services, args.rounds))))


if __name__ == "__main__":
    main()
