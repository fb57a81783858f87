"""Memory for many linked accounts on one panel: 200 accounts (by default) link and open the
catalog of a 5,000-service panel over real HTTP, each run in a fresh process (the panel runs
in another): once with one catalog for every account, once with a catalog priced for each.
Prints the process's resident memory before and after, what the first catalog added, and the
catalog copies held (snapshots alive, counted by the garbage collector). One JSON line last.

    python -m benchmarks.catalog_memory [--accounts 200] [--services 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from bot.accounts import Accounts
from bot.catalog import CatalogSnapshot
from bot.config import Settings
from bot.health import PanelHealth
from bot.redaction import Redactor
from bot.sandbox.catalog import synthetic_catalog
from bot.sandbox.panel import SandboxPanel, serve
from bot.secretbox import SecretBox
from storage import users
from storage.db import Database

MIB = 1024 * 1024


def username(n: int) -> str:
    return f"user{n}@example.com"


def api_key(n: int) -> str:
    return f"{n:032x}"


def resident_bytes() -> int:
    """VmRSS of this process (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def snapshots_alive() -> int:
    gc.collect()
    return sum(1 for thing in gc.get_objects() if type(thing) is CatalogSnapshot)


async def serve_panel(accounts: int, services: int, urls: Any) -> None:
    catalog = synthetic_catalog(services, seed=1)
    panel = SandboxPanel(catalog=catalog)
    for n in range(accounts):
        account = panel.add_account(username(n), api_key(n))
        # Every account its own price for the first service; the rest shared, to keep this
        # process small.
        account.catalog = [{**catalog[0], "price": f"{n + 1}.00 per 1000"}, *catalog[1:]]
    # The shared-catalog run asks as `same{n}`: those accounts see the panel's one catalog.
    for n in range(accounts):
        panel.add_account(f"same{username(n)}", api_key(n))
    async with serve(panel) as url:
        urls.put(url)
        await asyncio.Event().wait()


def panel_process(accounts: int, services: int, urls: Any) -> None:
    asyncio.run(serve_panel(accounts, services, urls))


async def link_all(url: str, accounts: int, *, shared: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        settings = Settings(
            _env_file=None,
            smmlaba_api_url=url,
            database_path=Path(workdir) / "bench.sqlite3",
        )
        db = await Database.open(settings.database_path)
        async with httpx.AsyncClient() as http:
            registry = Accounts(
                settings,
                db,
                http,
                SecretBox([Fernet.generate_key()]),
                Redactor(),
                PanelHealth(),
            )
            gc.collect()
            before = resident_bytes()
            first = 0
            for n in range(accounts):
                await users.touch(
                    db, n + 1, chat_id=n + 1, first_name="Bench", telegram_language="en"
                )
                name = f"same{username(n)}" if shared else username(n)
                account = await registry.link(n + 1, name, api_key(n))
                if await account.catalog.snapshot() is None:
                    raise RuntimeError(f"no catalog for {name}")
                if n == 0:
                    gc.collect()
                    first = resident_bytes() - before
            held = snapshots_alive()
            after = resident_bytes()
            await registry.close()
        await db.close()
    return {
        "rss_before_mib": round(before / MIB, 1),
        "rss_after_mib": round(after / MIB, 1),
        "first_catalog_mib": round(first / MIB, 1),
        "grown_mib": round((after - before) / MIB, 1),
        "catalog_copies_held": held,
    }


def measure_process(url: str, accounts: int, shared: bool) -> dict[str, Any]:
    return asyncio.run(link_all(url, accounts, shared=shared))


def measure(accounts: int, services: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    urls = context.Queue()
    panel = context.Process(target=panel_process, args=(accounts, services, urls), daemon=True)
    panel.start()
    try:
        url = urls.get(timeout=120)
        figures: dict[str, Any] = {
            "accounts": accounts,
            "services": services,
            "catalogs_in_memory": Settings(_env_file=None).catalogs_in_memory,
        }
        for run, shared in (("one_catalog", True), ("own_prices", False)):
            # A fresh process each: memory a run freed may stay with the process.
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as worker:
                figures[run] = worker.submit(measure_process, url, accounts, shared).result()
        return figures
    finally:
        panel.terminate()
        panel.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--services", type=int, default=5000)
    args = parser.parse_args()
    print(json.dumps(measure(args.accounts, args.services)))


if __name__ == "__main__":
    main()
