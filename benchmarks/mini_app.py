"""The Mini App in headless Chromium against a 2,000-service catalog: what the page transfers
(compressed), how soon the catalog shows, and how long a keystroke's search takes in the page.

    python -m benchmarks.mini_app [--services 2000] [--keystrokes 60]

Last line: {"catalog_services", "transfer_kb", "first_render_ms", "search_keystroke_ms", ...}.
Budgets (issue 20): transfer <= 300 KB, first render <= 1,000 ms, a keystroke <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from cryptography.fernet import Fernet
from playwright.async_api import Response, async_playwright
from pydantic import SecretStr

from bot.app import running
from bot.sandbox.catalog import synthetic_catalog
from bot.sandbox.panel import demo_panel
from bot.sandbox.settings import serve_sandboxes
from bot.sandbox.telegram import TelegramEmulator
from bot.serving import serve_app
from webapp.api import PATH

PERSON = 1
QUERIES = ["instagram likes", "telegram views", "youtube followers", "tiktok comments"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def measure(services: int, keystrokes: int) -> dict[str, Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no Chromium: apt-get install -y chromium")
    panel, account = demo_panel(catalog=synthetic_catalog(services, seed=1), seed=1)
    emulator = TelegramEmulator()
    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        settings = await serve_sandboxes(
            stack,
            panel,
            emulator,
            operator=account,
            database=folder / "bot.sqlite3",
            allowed_users=frozenset({PERSON}),
            bot_secret_key=SecretStr(Fernet.generate_key().decode()),
            log_level="ERROR",
        )
        _bot, _dispatcher, bot_services = await stack.enter_async_context(running(settings))
        app = web.Application()
        bot_services.mini_app.add_to(app)
        base = await stack.enter_async_context(serve_app(app))
        person = emulator.user(PERSON, "Anna")
        url = f"{base}{PATH}#" + urlencode({"tgWebAppData": person.web_app_init_data()})
        playwright = await stack.enter_async_context(async_playwright())
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        stack.push_async_callback(browser.close)
        # A first visit warms the bot's cached catalog body, as any earlier visitor would.
        warm = await browser.new_page()
        await warm.goto(url)
        await warm.wait_for_selector("body[data-ready]")
        await warm.close()
        page = await (await browser.new_context()).new_page()  # a cold browser cache
        responses: list[Response] = []
        page.on("response", lambda response: responses.append(response))
        await page.goto(url)
        await page.wait_for_selector("body[data-ready]")
        first_render = await page.evaluate(
            "performance.getEntriesByName('catalog-shown')[0].startTime"
        )
        transferred = 0
        for response in responses:
            sizes = await response.request.sizes()
            transferred += sizes["responseBodySize"] + sizes["responseHeadersSize"]
        search = page.locator("#search")
        typed = 0
        while typed < keystrokes:
            for query in QUERIES:
                await search.fill("")
                for length in range(1, len(query) + 1):
                    await search.press(query[length - 1])
                    await page.wait_for_selector(
                        f"#results[data-query={json.dumps(query[:length])}]"
                    )
                    typed += 1
        times = await page.evaluate(
            "performance.getEntriesByName('search-keystroke').map(e => e.duration)"
        )
    times.sort()
    return {
        "catalog_services": services,
        "transfer_kb": round(transferred / 1024, 1),
        "first_render_ms": round(first_render, 1),
        "search_keystroke_ms": round(times[int(0.9 * (len(times) - 1))], 1),
        "search_keystroke_median_ms": round(statistics.median(times), 1),
        "search_keystroke_max_ms": round(times[-1], 1),
        "keystrokes": len(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--keystrokes", type=int, default=60)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.services, args.keystrokes))))


if __name__ == "__main__":
    main()
