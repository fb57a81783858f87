"""The bot on PostgreSQL and Redis, as each replica runs it: the same conversation and the
same orders as on SQLite, conversations in Redis across restarts, and the rule that decides
who may run beside whom."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.app import build_webhook_app, running
from bot.sandbox.panel import Account
from bot.sandbox.settings import sandbox_settings
from bot.sandbox.telegram import TelegramEmulator
from bot.serving import serve_app
from storage.lock import DatabaseInUse
from tests.conftest import BotFactory
from tests.flows import fill_order, place_order, start_order

SECRET = "scale-out-Secret_1"


async def test_an_order_on_postgres_and_redis_is_placed_once_and_stored_there(
    make_bot: BotFactory, on_servers: dict[str, Any], postgres_url: str
) -> None:
    async with make_bot(**on_servers).running() as bot:
        anna = bot.user(501, "Anna")
        await place_order(anna)
        assert "placed" in anna.last_message.text
        assert bot.panel_calls("add") == 1
    outside = await asyncpg.connect(postgres_url)
    try:
        row = await outside.fetchrow("SELECT state, total, params FROM orders WHERE user_id = 501")
        assert row["state"] in ("placed", "pending", "in_progress", "completed")
        assert json.loads(row["params"]) == {"url": "https://instagram.com/p/x", "count": "1000"}
        assert await outside.fetchval("SELECT count(*) FROM fsm") == 0  # conversations: Redis
    finally:
        await outside.close()


async def test_a_conversation_in_redis_survives_a_restart(
    make_bot: BotFactory, on_servers: dict[str, Any], redis_server: str
) -> None:
    bot = make_bot(**on_servers)
    async with bot.running():
        anna = bot.user(502, "Anna")
        await start_order(anna)
        await anna.send("https://instagram.com/p/kept")
        redis = Redis.from_url(redis_server)
        try:
            [key] = [key async for key in redis.scan_iter("fsm:*:502:502:data")]
            stored = await redis.get(key)
            assert isinstance(stored, bytes)
            assert "https://instagram.com/p/kept" in stored.decode()
            assert await redis.ttl(key) > 80 * 86_400  # expires as KEEP_CONVERSATIONS_DAYS
        finally:
            await redis.aclose()
        await bot.restart()
        assert "Step 2 of" in anna.last_message.text
        await anna.send("1000")
        assert "https://instagram.com/p/kept" in anna.last_message.text
        await anna.press("✅ Confirm")
        assert "placed" in anna.last_message.text
        assert bot.panel_calls("add") == 1


async def test_a_replica_without_redis_must_be_alone(
    make_bot: BotFactory, on_servers: dict[str, Any]
) -> None:
    without_redis = {**on_servers, "redis_url": None}
    async with make_bot(**without_redis).running() as first:
        anna = first.user(501, "Anna")
        await start_order(anna)
        await fill_order(anna)  # conversations in PostgreSQL work, for one replica
        second = make_bot(**without_redis)
        with pytest.raises(DatabaseInUse, match="a second replica needs REDIS_URL"):
            await second.start()
        await second.stop()
        with_redis = make_bot(**on_servers)
        with pytest.raises(DatabaseInUse, match="replicas need REDIS_URL, all of them"):
            await with_redis.start()
        await with_redis.stop()
    # Once it is gone, replicas with Redis may start, several of them.
    first, second = make_bot(**on_servers), make_bot(**on_servers)
    await first.start()
    try:
        await second.start()
        await second.stop()
    finally:
        await first.stop()


def test_the_database_and_redis_passwords_never_show(
    make_bot: BotFactory, on_servers: dict[str, Any]
) -> None:
    settings = make_bot(
        **{
            **on_servers,
            "database_url": SecretStr("postgresql://bot:pg-secret@db.internal/smmbot"),
            "redis_url": SecretStr("redis://:redis-secret@cache.internal:6379/0"),
        }
    ).settings
    assert "pg-secret" not in repr(settings)
    assert "redis-secret" not in repr(settings)
    assert settings.database_shown == "postgresql://bot@db.internal/smmbot"
    assert {"pg-secret", "redis-secret"} <= set(settings.secrets())


async def test_an_update_delivered_again_after_it_was_handled_is_answered_once(
    telegram: tuple[TelegramEmulator, str],
    panel_url: str,
    alice: Account,
    on_servers: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Telegram posts an update again when the bot's answer to it was lost (a replica killed
    after handling it): the replicas remember it in Redis and do not answer it twice."""
    emulator, telegram_url = telegram
    anna = emulator.user(503, "Anna")
    settings = sandbox_settings(
        token=emulator.token,
        telegram_url=telegram_url,
        panel_url=panel_url,
        operator=alice,
        database=tmp_path / "unused.sqlite3",
        allowed_users=frozenset({503}),
        webhook_url="https://bot.example.com/hook",
        webhook_secret=SecretStr(SECRET),
        **on_servers,
    )
    update = {
        "update_id": 77,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": 503, "type": "private", "first_name": "Anna"},
            "from": anna.telegram_user(),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with running(settings) as (bot, dispatcher, services):
        app = build_webhook_app(bot, dispatcher, settings, services.status)
        async with serve_app(app) as base, httpx.AsyncClient() as http:
            # Answered only once handled (`handle_in_background=False`): the second post
            # comes after the first was dealt with, as a delivery tried again does.
            for _ in range(2):
                response = await http.post(f"{base}/hook", json=update, headers=headers)
                assert response.status_code == 200
            update["update_id"] = 78
            response = await http.post(f"{base}/hook", json=update, headers=headers)
            assert response.status_code == 200
    greetings = [m for m in anna.bot_messages if "Hi, Anna!" in m.text]
    assert len(greetings) == 2  # update 77 once, and 78: a new update is never taken for an old
    assert not emulator.violations
