"""The bot on PostgreSQL and Redis, as each replica runs it: the same conversation and the
same orders as on SQLite, conversations in Redis across restarts, and the rule that decides
who may run beside whom."""

from __future__ import annotations

import asyncio
import json
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
    update = {"update_id": 77, "message": anna.typed("/start")}
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


async def test_an_update_cut_short_after_its_answer_is_handled_again_from_the_same_step(
    make_bot: BotFactory, on_servers: dict[str, Any]
) -> None:
    """A replica killed after it answered "1000" with the confirmation, before the update
    was marked handled: Telegram delivers "1000" again, and the next replica must find the
    conversation still at the amount, not at the confirmation (where "1000" would get
    "I didn't get that")."""
    harness = make_bot(**on_servers)
    async with harness.running():
        assert harness.bot is not None
        assert harness.dispatcher is not None
        bot, dispatcher, emulator = harness.bot, harness.dispatcher, harness.emulator
        anna = harness.user(600, "Anna")
        await anna.send("/start")
        await start_order(anna)
        await anna.send("https://instagram.com/p/cut")
        prompt = anna.last_message
        assert "Step 2 of" in prompt.text

        # "1000", delivered by hand (not fetched by polling), so that it can be cut short.
        update = {"update_id": 10**9 + 600, "message": anna.typed("1000")}
        # The answered prompt is deleted beside the confirmation being sent: Telegram takes
        # its time with the delete, the confirmation goes out and the step moves on
        # meanwhile, and the replica dies when the delete is done.
        emulator.latency["deleteMessage"] = 1.0
        handling = asyncio.create_task(dispatcher.feed_raw_update(bot, update))

        def kill_after_delete(method: str, _params: dict[str, Any]) -> None:
            if method == "deleteMessage":
                handling.cancel()

        emulator.call_listeners.append(kill_after_delete)
        with pytest.raises(asyncio.CancelledError):
            await handling
        emulator.call_listeners.remove(kill_after_delete)
        emulator.latency.clear()
        first_answer = anna.last_message.text
        assert "Please check your order" in first_answer

        await dispatcher.feed_raw_update(bot, update)  # Telegram's second delivery
        # Answered as the first delivery was: from the amount, not as a message typed
        # while the confirmation waits (a reminder), nor one nobody expects.
        assert anna.last_message.text == first_answer, anna.transcript
        assert "I didn't get that" not in anna.transcript
        # The second delivery repeats what the first had done to the answered prompt, gone
        # already: Telegram refuses the delete, then the edit that would keep it instead.
        refused = {(v.method, v.parameters["message_id"]) for v in emulator.violations}
        assert refused == {
            ("deleteMessage", str(prompt.message_id)),
            ("editMessageText", str(prompt.message_id)),
        }
        emulator.violations.clear()
        await anna.press("✅ Confirm")
        assert "placed" in anna.last_message.text
        assert harness.panel_calls("add") == 1
