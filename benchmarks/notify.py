"""Notifications through Telegram's limits, on either backend, with one or more replicas.

M queued messages for K chats, sent by the bot's `Notifier` (one per replica, each its own
process; several share their limits through a throwaway Redis) to the Telegram emulator,
which enforces about 30 messages a second overall and one a second per chat as Telegram
does (429 with retry_after beyond them). Figures: the time until every message went out,
the rate against what the configured limits allow for that mix (NOTIFY_PER_SECOND overall;
a chat's messages one a second apart), the 429s, and messages lost or sent twice. With
`--backend postgres` a throwaway PostgreSQL is started, as the tests do, unless
DATABASE_URL names one. Prints one JSON line last.

    python -m benchmarks.notify [--messages 1000] [--chats 200] [--backend sqlite|postgres]
        [--replicas 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer

from bot.i18n import build_i18n
from bot.notifier import Notifier, NotifierConfig
from bot.ratelimit import shared_limiters
from bot.sandbox import servers
from bot.sandbox.telegram import RateLimits, TelegramEmulator, serve
from bot.telegram_session import BotSession
from handlers import notifications
from storage import outbox, users
from storage.db import Database
from storage.outbox import Kind, Notification

MARK = "bench-"


@contextlib.contextmanager
def redis_for(replicas: int) -> Iterator[str | None]:
    if replicas == 1:
        yield None
    elif url := os.environ.get("REDIS_URL"):
        yield url
    else:
        with servers.redis() as url:
            yield url


async def seed(url: str, messages: int, chats: int) -> None:
    async with await Database.open(url) as db:
        for chat in range(1, chats + 1):
            await users.touch(db, chat, chat_id=chat, first_name="B", telegram_language="en")
        for index in range(messages):
            chat = index % chats + 1
            await outbox.add(
                db,
                Notification(
                    dedupe_key=f"bench:{index}",
                    user_id=chat,
                    chat_id=chat,
                    kind=Kind.PANEL_DOWN,
                    payload={"since": 0, "cause": f"{MARK}{index}"},
                ),
            )


async def replica(url: str, telegram_url: str, token: str, redis_url: str | None) -> None:
    """One replica's notifier until nothing is pending."""
    limiters = None
    redis = None
    if redis_url:
        from redis.asyncio import Redis

        redis = Redis.from_url(redis_url)
        limiters = shared_limiters(redis, "bench:rate")
    session = BotSession(api=TelegramAPIServer.from_base(telegram_url))
    bot = Bot(token=token, session=session)
    try:
        async with await Database.open(url) as db:
            notifier = Notifier(
                bot,
                db,
                build_i18n(),
                NotifierConfig(idle_poll=0.05),
                lambda kind, payload, order: notifications.render(kind, payload, order, "RUB"),
                limiters=limiters,
            )
            notifier.start()
            while (await outbox.pending_summary(db))[0]:  # noqa: ASYNC110 - another process's
                await asyncio.sleep(0.1)
            await notifier.stop()
    finally:
        await session.close()
        if redis is not None:
            await redis.aclose()


async def measure(messages: int, chats: int, backend: str, replicas: int) -> dict[str, Any]:
    config = NotifierConfig()
    emulator = TelegramEmulator(rate_limits=RateLimits(per_second=30, per_chat_per_second=1))
    for chat in range(1, chats + 1):
        emulator.user(chat, "B")
    with tempfile.TemporaryDirectory() as workdir, redis_for(replicas) as redis_url:
        async with servers.database_for(backend, Path(workdir), "bench_notify") as url:
            await seed(url, messages, chats)
            async with serve(emulator) as telegram_url:
                command = [
                    sys.executable,
                    "-m",
                    "benchmarks.notify",
                    "--replica",
                    url,
                    telegram_url,
                ]
                command += [emulator.token, redis_url or ""]
                workers = [await asyncio.create_subprocess_exec(*command) for _ in range(replicas)]
                for worker in workers:
                    await worker.wait()
    # From the first message Telegram took to the last (the replicas' start-up left out).
    sent = [call.at for call in emulator.calls if call.method == "sendMessage"]
    seconds = max(sent) - min(sent)
    seen = Counter(
        line.split(MARK, 1)[1].split()[0].rstrip(".")
        for chat in range(1, chats + 1)
        for message in emulator.messages[chat]
        for line in message.text.splitlines()
        if MARK in line
    )
    per_chat = math.ceil(messages / chats)
    # The least time the limits allow: the overall rate, or a chat's messages a second apart.
    least = max(messages / config.per_second, (per_chat - 1) / config.per_chat_per_second)
    allowed = messages / least
    rate = messages / seconds
    return {
        "messages": messages,
        "chats": chats,
        "replicas": replicas,
        "backend": backend,
        "seconds": round(seconds, 2),
        "rate_per_s": round(rate, 2),
        "allowed_rate_per_s": round(allowed, 2),
        "ratio_to_limit": round(rate / allowed, 3),
        "http_429": sum(1 for call in emulator.calls if call.status == 429),
        "lost": messages - len(seen),
        "duplicates": sum(count - 1 for count in seen.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--replicas", type=int, default=1)
    parser.add_argument("--replica", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replica:
        url, telegram_url, token, redis_url = args.replica
        asyncio.run(replica(url, telegram_url, token, redis_url or None))
        return
    if args.backend == "sqlite" and args.replicas > 1:
        parser.error("SQLite is for one replica: use --backend postgres")
    print(json.dumps(asyncio.run(measure(args.messages, args.chats, args.backend, args.replicas))))


if __name__ == "__main__":
    main()
