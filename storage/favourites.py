"""The services each person starred (⭐ on a service's card)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from storage.db import Database


@dataclass(frozen=True, slots=True)
class Favourite:
    service_id: str
    service_name: str  # as it was named when starred


async def add(db: Database, user_id: int, service_id: str, service_name: str) -> None:
    await db.execute(
        """
        INSERT INTO favourites (user_id, service_id, service_name, created_at)
        VALUES (?, ?, ?, ?)
        ON CONFLICT (user_id, service_id) DO NOTHING
        """,
        (user_id, service_id, service_name, time.time()),
    )


async def remove(db: Database, user_id: int, service_id: str) -> None:
    await db.execute(
        "DELETE FROM favourites WHERE user_id = ? AND service_id = ?", (user_id, service_id)
    )


async def has(db: Database, user_id: int, service_id: str) -> bool:
    row = await db.fetchone(
        "SELECT 1 FROM favourites WHERE user_id = ? AND service_id = ?", (user_id, service_id)
    )
    return row is not None


async def of_user(db: Database, user_id: int) -> list[Favourite]:
    """Oldest first: a list that does not reshuffle as stars are added."""
    rows = await db.fetchall(
        "SELECT service_id, service_name FROM favourites WHERE user_id = ? "
        "ORDER BY created_at, service_id",
        (user_id,),
    )
    return [Favourite(row["service_id"], row["service_name"]) for row in rows]
