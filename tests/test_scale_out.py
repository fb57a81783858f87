"""The bot on PostgreSQL and Redis, as each replica runs it: the same conversation and the
same orders as on SQLite, conversations in Redis across restarts, and the rule that decides
who may run beside whom."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from storage.lock import DatabaseInUse
from tests.conftest import BotFactory
from tests.flows import fill_order, place_order, start_order


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
