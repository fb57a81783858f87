"""Where conversations live (aiogram's FSM storage), written once per update.

`DatabaseStorage` keeps them in SQLite or PostgreSQL, for the one process that owns the
database. `RedisConversations` keeps them in Redis, shared by any number of replicas, and
writes each update's change together with the mark that the update was handled.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio.client import Pipeline

from storage.db import Database

logger = logging.getLogger(__name__)

_KEY = (
    "bot_id = ? AND chat_id = ? AND user_id = ? AND thread_id = ? "
    "AND business_connection_id = ? AND destiny = ?"
)


Key = tuple[int, int, int, int, str, str]
Record = tuple[str | None, str]  # state, data as JSON


def _key(key: StorageKey) -> Key:
    return (
        key.bot_id,
        key.chat_id,
        key.user_id,
        key.thread_id or 0,
        key.business_connection_id or "",
        key.destiny,
    )


class DatabaseStorage(BaseStorage):
    """Keyed by every field of `StorageKey`; data is JSON, so dict keys come back as strings.

    Recent conversations are kept in memory too (every update reads the state). Changes go
    to memory at once and to SQLite at `save(key)`, which the bot calls after each update
    (`handlers.middlewares.SaveConversations`) inside aiogram's event-isolation lock: one
    statement per update, after its answer went out, on disk before the same chat's next
    update is let in. What an update that never finished changed is never written.
    """

    def __init__(self, db: Database, *, cached_conversations: int = 10_000) -> None:
        self._db = db
        self._cache: OrderedDict[Key, Record] = OrderedDict()
        self._cache_size = cached_conversations
        self._pending: dict[Key, Record] = {}  # written to memory, not yet to SQLite

    async def _load(self, key: Key) -> Record:
        """(state, data as JSON) for `key`: pending, else from memory, else from SQLite."""
        record = self._pending.get(key) or self._cache.get(key)
        if record is None:
            row = await self._db.fetchone(f"SELECT state, data FROM fsm WHERE {_KEY}", key)  # noqa: S608
            record = (None, "{}") if row is None else (row["state"], row["data"])
        self._remember(key, record)
        return record

    def _remember(self, key: Key, record: Record) -> None:
        self._cache[key] = record
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _change(self, key: Key, record: Record) -> None:
        self._remember(key, record)
        self._pending[key] = record

    async def save(self, key: StorageKey) -> None:
        """Write `key`'s pending change, if it has one: one statement."""
        await self._write(_key(key))

    def forget(self, key: StorageKey) -> None:
        """Drop `key`'s pending change: its update did not finish."""
        stored = _key(key)
        if self._pending.pop(stored, None) is not None:
            self._cache.pop(stored, None)  # read back from the database next time

    async def _write(self, stored: Key) -> None:
        record = self._pending.pop(stored, None)
        if record is None:
            return
        try:
            await self._db.execute(
                """
                INSERT INTO fsm (bot_id, chat_id, user_id, thread_id, business_connection_id,
                                 destiny, state, data, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (bot_id, chat_id, user_id, thread_id, business_connection_id,
                             destiny)
                DO UPDATE SET state = excluded.state, data = excluded.data,
                                          updated_at = excluded.updated_at
                """,
                (*stored, *record, time.time()),
            )
        except BaseException:
            self._pending.setdefault(stored, record)  # unless changed again meanwhile
            raise

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        stored = _key(key)
        current, data = await self._load(stored)
        if current != value:  # most updates set the state they are in
            self._change(stored, (value, data))

    async def get_state(self, key: StorageKey) -> str | None:
        state, _ = await self._load(_key(key))
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(
                f"Data must be a dict or dict-like object, got {type(data).__name__}"
            )
        encoded = json.dumps(data, ensure_ascii=False)
        stored = _key(key)
        state, current = await self._load(stored)
        if current != encoded:
            self._change(stored, (state, encoded))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        _, encoded = await self._load(_key(key))
        data: dict[str, Any] = json.loads(encoded)
        return data

    async def close(self) -> None:
        """Nothing: aiogram calls this first thing at shutdown, while updates may still be
        under way, and what they changed is theirs to write when they end. The database
        belongs to the application, which closes it."""


class _Unchanged:
    pass


UNCHANGED = _Unchanged()


@dataclass
class _Change:
    state: str | _Unchanged | None = UNCHANGED
    data: str | _Unchanged | None = UNCHANGED  # as JSON; None: no data


class RedisConversations(RedisStorage):
    """aiogram's RedisStorage, with each update's change held in memory until `save`, which
    writes it in one transaction with the mark that the update was handled. A replica killed
    while handling an update has then either written both or neither: Telegram's second
    delivery of that update finds it handled, or finds the conversation as it was before
    it, never moved on without the mark (which would answer it from the wrong step).

    Called inside aiogram's event-isolation lock: one replica at a time changes a
    conversation, so what it holds in memory is what Redis will have."""

    # Telegram tries a failed delivery again within minutes.
    REMEMBER_HANDLED_SECONDS = 900

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: dict[StorageKey, _Change] = {}

    def _handled_key(self, bot_id: int, update_id: int) -> str:
        return f"smmbot:{bot_id}:handled:{update_id}"

    async def handled(self, bot_id: int, update_id: int) -> bool:
        """Whether `update_id` was handled already, by any replica."""
        return bool(await self.redis.exists(self._handled_key(bot_id, update_id)))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        self._pending.setdefault(key, _Change()).state = value

    async def get_state(self, key: StorageKey) -> str | None:
        change = self._pending.get(key)
        if change is not None and not isinstance(change.state, _Unchanged):
            return change.state
        return await super().get_state(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(
                f"Data must be a dict or dict-like object, got {type(data).__name__}"
            )
        self._pending.setdefault(key, _Change()).data = self.json_dumps(data) if data else None

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        change = self._pending.get(key)
        if change is not None and not isinstance(change.data, _Unchanged):
            return {} if change.data is None else cast(dict[str, Any], self.json_loads(change.data))
        return await super().get_data(key)

    async def save(self, key: StorageKey | None, *, handled: tuple[int, int] | None = None) -> None:
        """Write `key`'s pending change, and the mark that update `handled` (bot id, update
        id) was handled, in one transaction. A change that fails to reach Redis is dropped,
        not kept for later: the person's next update may go to another replica, and Redis
        is what they all read."""
        change = self._pending.pop(key, None) if key is not None else None
        if change is None and handled is None:
            return
        async with self.redis.pipeline(transaction=True) as transaction:
            if change is not None and key is not None:
                self._write(transaction, key, change)
            if handled is not None:
                transaction.set(self._handled_key(*handled), b"1", ex=self.REMEMBER_HANDLED_SECONDS)
            await transaction.execute()

    def forget(self, key: StorageKey | None) -> None:
        """Drop `key`'s pending change: its update did not finish."""
        if key is not None:
            self._pending.pop(key, None)

    def _write(self, transaction: Pipeline, key: StorageKey, change: _Change) -> None:
        if not isinstance(change.state, _Unchanged):
            state_key = self.key_builder.build(key, "state")
            if change.state is None:
                transaction.delete(state_key)
            else:
                transaction.set(state_key, change.state, ex=self.state_ttl)
        if not isinstance(change.data, _Unchanged):
            data_key = self.key_builder.build(key, "data")
            if change.data is None:
                transaction.delete(data_key)
            else:
                transaction.set(data_key, change.data, ex=self.data_ttl)

    async def close(self) -> None:
        """Nothing: aiogram calls this first thing at shutdown, while updates may still be
        under way (the bot waits for them after it), and their changes must not reach Redis
        without their marks. `disconnect` closes, once the bot has stopped."""

    async def disconnect(self) -> None:
        """Drop the changes of updates that never finished (Telegram delivers those again),
        then close the connections."""
        if self._pending:
            logger.warning("dropped the changes of %d unfinished updates", len(self._pending))
            self._pending.clear()
        await super().close()
