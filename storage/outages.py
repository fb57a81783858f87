"""The panel's outages, shared by the replicas: the first to see one last long enough opens
it, and every replica tells the admins about that one (the outbox's keys name its start, so
they hear of it once)."""

from __future__ import annotations

from storage.db import Database


async def open_outage(db: Database, panel: str, since: float) -> float:
    """The start of the panel's open outage: the one recorded already, else `since`."""
    await db.execute(
        "INSERT INTO panel_outages (panel, since) VALUES (?, ?) "
        "ON CONFLICT (panel) WHERE until IS NULL DO NOTHING",
        (panel, since),
    )
    row = await db.fetchone(
        "SELECT since FROM panel_outages WHERE panel = ? AND until IS NULL", (panel,)
    )
    return since if row is None else float(row["since"])  # None: closed just now


async def close_outage(db: Database, panel: str, until: float) -> None:
    await db.execute(
        "UPDATE panel_outages SET until = ? WHERE panel = ? AND until IS NULL", (until, panel)
    )
