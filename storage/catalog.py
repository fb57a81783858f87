"""The last catalog each account fetched from the panel, so a restart can show menus without
asking it. Catalogs are stored by content: accounts that see the same one share one copy."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from storage.db import Database


@dataclass(frozen=True, slots=True)
class Fetch:
    digest: str  # names the content (`contents`)
    fetched_at: float


async def save(
    db: Database, account: str, services: list[dict[str, Any]], fetched_at: float
) -> str:
    """Record that `account` fetched `services` (the panel's wire shape) at `fetched_at`, and
    return the content's digest. Content no account names any more is deleted."""
    text = json.dumps(services, ensure_ascii=False)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO catalog_contents (digest, services) VALUES (?, ?) "
            "ON CONFLICT (digest) DO NOTHING",
            (digest, text),
        )
        await tx.execute(
            """
            INSERT INTO catalog_fetches (account, digest, fetched_at) VALUES (?, ?, ?)
            ON CONFLICT (account) DO UPDATE SET
                digest = excluded.digest, fetched_at = excluded.fetched_at
            """,
            (account, digest, fetched_at),
        )
        await tx.execute(
            "DELETE FROM catalog_contents WHERE digest NOT IN (SELECT digest FROM catalog_fetches)"
        )
    return digest


async def last_fetch(db: Database, account: str) -> Fetch | None:
    row = await db.fetchone(
        "SELECT digest, fetched_at FROM catalog_fetches WHERE account = ?", (account,)
    )
    return None if row is None else Fetch(row["digest"], row["fetched_at"])


async def contents(db: Database, digest: str) -> list[dict[str, Any]] | None:
    row = await db.fetchone("SELECT services FROM catalog_contents WHERE digest = ?", (digest,))
    return None if row is None else json.loads(row["services"])
