"""The last catalog fetched from the panel, so a restart can show menus without asking it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storage.db import Database


@dataclass(frozen=True, slots=True)
class CachedCatalog:
    services: list[dict[str, Any]]  # the panel's wire shape
    fetched_at: float


async def save(
    db: Database, account: str, services: list[dict[str, Any]], fetched_at: float
) -> None:
    await db.execute(
        """
        INSERT INTO catalog_cache (account, services, fetched_at) VALUES (?, ?, ?)
        ON CONFLICT (account) DO UPDATE SET
            services = excluded.services, fetched_at = excluded.fetched_at
        """,
        (account, json.dumps(services, ensure_ascii=False), fetched_at),
    )


async def load(db: Database, account: str) -> CachedCatalog | None:
    row = await db.fetchone(
        "SELECT services, fetched_at FROM catalog_cache WHERE account = ?", (account,)
    )
    if row is None:
        return None
    return CachedCatalog(services=json.loads(row["services"]), fetched_at=row["fetched_at"])
