"""The contract of the conversations' storages as aiogram `BaseStorage`s: `DatabaseStorage`
on SQLite and PostgreSQL, `RedisConversations` on Redis; then what each adds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from redis.asyncio import Redis

from storage.db import Database
from storage.fsm import DatabaseStorage, RedisConversations

KEY = StorageKey(bot_id=1, chat_id=10, user_id=100)


class Wizard(StatesGroup):
    choosing = State()
    entering = State()


class SavedAtOnce(RedisConversations):
    """Each change saved as it is made, as if each were an update: the contract tests then
    read what Redis holds, not what waits in memory."""

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await super().set_state(key, state)
        await self.save(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await super().set_data(key, data)
        await self.save(key)


def redis_conversations(url: str) -> RedisConversations:
    return RedisConversations(
        Redis.from_url(url),
        key_builder=DefaultKeyBuilder(with_bot_id=True, with_destiny=True),
        state_ttl=3600,
    )


@pytest.fixture
async def redis_url(redis_server: str) -> str:
    """The throwaway Redis, emptied: what earlier tests left there is not this test's."""
    redis = Redis.from_url(redis_server)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()
    return redis_server


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def storage(storage_url: str) -> AsyncIterator[BaseStorage]:
    if storage_url.startswith("redis"):
        every_field = DefaultKeyBuilder(
            with_bot_id=True, with_business_connection_id=True, with_destiny=True
        )
        redis = SavedAtOnce(Redis.from_url(storage_url), key_builder=every_field)
        yield redis
        await redis.disconnect()
        return
    async with await Database.open(storage_url) as db:
        yield DatabaseStorage(db)


async def test_an_unknown_key_has_no_state_and_no_data(storage: BaseStorage) -> None:
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}
    assert await storage.get_value(KEY, "missing") is None
    assert await storage.get_value(KEY, "missing", "fallback") == "fallback"


async def test_state_set_get_and_clear(storage: BaseStorage) -> None:
    await storage.set_state(KEY, Wizard.choosing)
    assert await storage.get_state(KEY) == "Wizard:choosing"
    await storage.set_state(KEY, "Wizard:entering")
    assert await storage.get_state(KEY) == "Wizard:entering"
    await storage.set_state(KEY, None)
    assert await storage.get_state(KEY) is None


async def test_data_set_get_update(storage: BaseStorage) -> None:
    await storage.set_data(KEY, {"service": "389", "values": {"url": "https://x"}})
    assert await storage.get_data(KEY) == {"service": "389", "values": {"url": "https://x"}}
    merged = await storage.update_data(KEY, {"step": 2})
    assert merged == {"service": "389", "values": {"url": "https://x"}, "step": 2}
    assert await storage.get_data(KEY) == merged
    assert await storage.get_value(KEY, "step") == 2


async def test_state_and_data_are_independent(storage: BaseStorage) -> None:
    await storage.set_data(KEY, {"a": 1})
    await storage.set_state(KEY, Wizard.entering)
    assert await storage.get_data(KEY) == {"a": 1}
    await storage.set_data(KEY, {})
    assert await storage.get_state(KEY) == "Wizard:entering"


async def test_returned_data_is_a_copy(storage: BaseStorage) -> None:
    await storage.set_data(KEY, {"items": [1]})
    data = await storage.get_data(KEY)
    data["items"].append(2)
    assert await storage.get_data(KEY) == {"items": [1]}


async def test_fsm_context_clear(storage: BaseStorage) -> None:
    context = FSMContext(storage=storage, key=KEY)
    await context.set_state(Wizard.choosing)
    await context.update_data(platform="Instagram")
    await context.clear()
    assert await context.get_state() is None
    assert await context.get_data() == {}


@pytest.mark.parametrize(
    "other",
    [
        StorageKey(bot_id=2, chat_id=10, user_id=100),
        StorageKey(bot_id=1, chat_id=11, user_id=100),
        StorageKey(bot_id=1, chat_id=10, user_id=101),
        StorageKey(bot_id=1, chat_id=10, user_id=100, thread_id=5),
        StorageKey(bot_id=1, chat_id=10, user_id=100, business_connection_id="biz"),
        StorageKey(bot_id=1, chat_id=10, user_id=100, destiny="scene"),
    ],
)
async def test_every_key_field_separates_conversations(
    storage: BaseStorage, other: StorageKey
) -> None:
    await storage.set_state(KEY, Wizard.choosing)
    await storage.set_data(KEY, {"who": "default"})
    await storage.set_state(other, Wizard.entering)
    await storage.set_data(other, {"who": "other"})
    assert await storage.get_state(KEY) == "Wizard:choosing"
    assert await storage.get_data(KEY) == {"who": "default"}
    assert await storage.get_state(other) == "Wizard:entering"
    assert await storage.get_data(other) == {"who": "other"}


async def test_data_round_trips_through_json(storage: BaseStorage) -> None:
    """JSON turns int keys into strings and tuples into lists; handlers keep string keys and
    lists for that reason. This test pins the behaviour they rely on."""
    await storage.set_data(
        KEY, {"1": "one", "nested": {2: "two"}, "pair": (1, 2), "text": "Привет 😀", "none": None}
    )
    assert await storage.get_data(KEY) == {
        "1": "one",
        "nested": {"2": "two"},
        "pair": [1, 2],
        "text": "Привет 😀",
        "none": None,
    }


async def test_data_must_be_a_dict(storage: BaseStorage) -> None:
    with pytest.raises(DataNotDictLikeError):
        await storage.set_data(KEY, [("a", 1)])  # type: ignore[arg-type]


async def test_data_must_be_json(storage: BaseStorage) -> None:
    with pytest.raises(TypeError):
        await storage.set_data(KEY, {"when": object()})
    assert await storage.get_data(KEY) == {}


async def test_the_conversation_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Database.open(path) as db:
        storage = DatabaseStorage(db)
        await storage.set_state(KEY, Wizard.entering)
        await storage.set_data(KEY, {"service": "389", "step": 1})
        await storage.save(KEY)  # at the end of the update
    async with await Database.open(path) as db:
        storage = DatabaseStorage(db)
        assert await storage.get_state(KEY) == "Wizard:entering"
        assert await storage.get_data(KEY) == {"service": "389", "step": 1}


async def test_conversations_beyond_the_memory_bound_are_read_back(db: Database) -> None:
    storage = DatabaseStorage(db, cached_conversations=2)
    keys = [StorageKey(bot_id=1, chat_id=n, user_id=n) for n in range(5)]
    for n, key in enumerate(keys):
        await storage.set_state(key, Wizard.entering)
        await storage.set_data(key, {"n": n})
    for n, key in enumerate(keys):
        assert await storage.get_state(key) == "Wizard:entering"
        assert await storage.get_data(key) == {"n": n}


async def stored_rows(db: Database) -> dict[int, tuple[str | None, str]]:
    rows = await db.fetchall("SELECT chat_id, state, data FROM fsm")
    return {row["chat_id"]: (row["state"], row["data"]) for row in rows}


async def test_changes_reach_the_database_at_save(db: Database) -> None:
    storage = DatabaseStorage(db)
    first, second = StorageKey(bot_id=1, chat_id=1, user_id=1), StorageKey(1, 2, 2)
    await storage.set_state(first, Wizard.choosing)
    await storage.set_data(first, {"step": 0})
    await storage.set_data(first, {"step": 1})
    await storage.set_state(second, Wizard.entering)
    assert await stored_rows(db) == {}
    assert await storage.get_data(first) == {"step": 1}  # memory answers meanwhile
    await storage.save(first)
    await storage.save(second)
    assert await stored_rows(db) == {
        1: ("Wizard:choosing", '{"step": 1}'),
        2: ("Wizard:entering", "{}"),
    }
    await storage.set_state(first, None)
    await storage.save(first)
    assert (await stored_rows(db))[1] == (None, '{"step": 1}')
    await storage.save(first)  # nothing pending: nothing to do


async def test_pending_changes_outlive_the_memory_bound(db: Database) -> None:
    storage = DatabaseStorage(db, cached_conversations=2)
    keys = [StorageKey(bot_id=1, chat_id=n, user_id=n) for n in range(5)]
    for n, key in enumerate(keys):
        await storage.set_data(key, {"n": n})
    for n, key in enumerate(keys):
        assert await storage.get_data(key) == {"n": n}
    for key in keys:
        await storage.save(key)
    fresh = DatabaseStorage(db)
    for n, key in enumerate(keys):
        assert await fresh.get_data(key) == {"n": n}


async def test_save_writes_one_conversation(db: Database) -> None:
    storage = DatabaseStorage(db)
    other = StorageKey(bot_id=1, chat_id=2, user_id=2)
    await storage.set_data(KEY, {"n": 1})
    await storage.set_data(other, {"n": 2})
    await storage.save(KEY)
    assert await stored_rows(db) == {KEY.chat_id: (None, '{"n": 1}')}
    await storage.save(KEY)  # nothing pending for it any more
    await storage.save(other)
    assert (await stored_rows(db))[2] == (None, '{"n": 2}')


async def test_an_update_that_did_not_finish_changes_nothing(db: Database) -> None:
    """Its change is forgotten (an error, a cancel), or never written (aiogram's shutdown
    closes the storage while updates may still be under way)."""
    storage = DatabaseStorage(db)
    await storage.set_state(KEY, Wizard.choosing)
    await storage.set_data(KEY, {"step": 1})
    await storage.save(KEY)
    await storage.set_state(KEY, Wizard.entering)
    await storage.set_data(KEY, {"step": 2})
    storage.forget(KEY)
    assert await storage.get_state(KEY) == "Wizard:choosing"  # memory forgot it too
    assert await storage.get_data(KEY) == {"step": 1}
    await storage.set_data(KEY, {"step": 2})
    await storage.close()
    assert await stored_rows(db) == {KEY.chat_id: ("Wizard:choosing", '{"step": 1}')}


async def test_a_change_reaches_redis_with_its_handled_mark_or_not_at_all(redis_url: str) -> None:
    """A replica's change waits in memory until the update is saved, then goes to Redis in
    one transaction with the mark that the update was handled: a replica killed before
    that leaves the conversation as it was, and the update not marked."""
    handling, other_replica = redis_conversations(redis_url), redis_conversations(redis_url)
    try:
        await handling.set_state(KEY, Wizard.entering)
        await handling.update_data(KEY, {"amount": "1000"})
        assert await handling.get_state(KEY) == "Wizard:entering"  # its own change
        assert await other_replica.get_state(KEY) is None
        assert await other_replica.get_data(KEY) == {}
        assert not await other_replica.handled(KEY.bot_id, 77)

        await handling.save(KEY, handled=(KEY.bot_id, 77))
        assert await other_replica.get_state(KEY) == "Wizard:entering"
        assert await other_replica.get_data(KEY) == {"amount": "1000"}
        assert await other_replica.handled(KEY.bot_id, 77)
        assert not await other_replica.handled(KEY.bot_id, 78)
        assert not await other_replica.handled(KEY.bot_id + 1, 77)  # another bot's update

        redis = Redis.from_url(redis_url)
        try:
            mark = f"smmbot:{KEY.bot_id}:handled:77"
            assert 0 < await redis.ttl(mark) <= RedisConversations.REMEMBER_HANDLED_SECONDS
            assert 0 < await redis.ttl(handling.key_builder.build(KEY, "state")) <= 3600
        finally:
            await redis.aclose()

        await handling.set_state(KEY, None)
        await handling.set_data(KEY, {})
        await handling.save(KEY)  # cleared: the keys go
        assert await other_replica.get_state(KEY) is None
        assert await other_replica.get_data(KEY) == {}
    finally:
        await handling.disconnect()
        await other_replica.disconnect()


async def test_redis_gets_nothing_of_an_update_that_did_not_finish(redis_url: str) -> None:
    storage = redis_conversations(redis_url)
    await storage.set_data(KEY, {"service": "389"})
    storage.forget(KEY)  # an error, a cancel
    assert await storage.get_data(KEY) == {}
    await storage.set_data(KEY, {"service": "389"})
    await storage.close()  # aiogram's, at shutdown, while updates may be under way
    assert await storage.get_data(KEY) == {"service": "389"}  # still connected, still its own
    await storage.disconnect()  # once the bot has stopped
    reopened = redis_conversations(redis_url)
    try:
        assert await reopened.get_data(KEY) == {}
    finally:
        await reopened.disconnect()
