"""`SQLiteStorage`: aiogram's FSM storage in SQLite, so a conversation survives a restart.

Keyed by every field of `StorageKey`. Data is stored as JSON: what goes in must be JSON-able,
and dict keys come back as strings (handlers keep string keys for that reason).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from storage.db import Database

_KEY = (
    "bot_id = ? AND chat_id = ? AND user_id = ? AND thread_id = ? "
    "AND business_connection_id = ? AND destiny = ?"
)


def _key(key: StorageKey) -> tuple[int, int, int, int, str, str]:
    return (
        key.bot_id,
        key.chat_id,
        key.user_id,
        key.thread_id or 0,
        key.business_connection_id or "",
        key.destiny,
    )


class SQLiteStorage(BaseStorage):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._db.execute(
            """
            INSERT INTO fsm (bot_id, chat_id, user_id, thread_id, business_connection_id,
                             destiny, state, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at
            """,
            (*_key(key), value, time.time()),
        )

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self._db.fetchone(f"SELECT state FROM fsm WHERE {_KEY}", _key(key))  # noqa: S608
        return None if row is None else row["state"]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(
                f"Data must be a dict or dict-like object, got {type(data).__name__}"
            )
        await self._db.execute(
            """
            INSERT INTO fsm (bot_id, chat_id, user_id, thread_id, business_connection_id,
                             destiny, data, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at
            """,
            (*_key(key), json.dumps(data, ensure_ascii=False), time.time()),
        )

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._db.fetchone(f"SELECT data FROM fsm WHERE {_KEY}", _key(key))  # noqa: S608
        if row is None:
            return {}
        data: dict[str, Any] = json.loads(row["data"])
        return data

    async def close(self) -> None:
        """The database belongs to the application, which closes it."""
