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


@dataclass(frozen=True, slots=True)
class CardMarks:
    """What a service's card shows of the person's own: their star, their last order of it
    placed here and taken by the panel (whose values "Same as last time" offers)."""

    starred: bool
    last_order: int | None


async def card_marks(db: Database, user_id: int, service_id: str) -> CardMarks:
    """Both in one statement: every card view asks."""
    row = await db.fetchone(
        """
        SELECT EXISTS (SELECT 1 FROM favourites WHERE user_id = ?1 AND service_id = ?2)
                   AS starred,
               (SELECT max(id) FROM orders
                WHERE user_id = ?1 AND service_id = ?2 AND origin = 'bot'
                  AND panel_order_id IS NOT NULL) AS last_order
        """,
        (user_id, service_id),
    )
    if row is None:
        return CardMarks(False, None)
    return CardMarks(bool(row["starred"]), row["last_order"])


async def of_user(db: Database, user_id: int) -> list[Favourite]:
    """Oldest first: a list that does not reshuffle as stars are added."""
    rows = await db.fetchall(
        "SELECT service_id, service_name FROM favourites WHERE user_id = ? "
        "ORDER BY created_at, service_id",
        (user_id,),
    )
    return [Favourite(row["service_id"], row["service_name"]) for row in rows]
