"""Telling the admins when the panel has been unreachable for a while, and when it is back.

Every panel client reports to one `PanelHealth` (`bot.health`). This loop reads it; while the
panel is down it also probes it with the operator's account (when there is one), so recovery
is noticed even when nobody is ordering and no order is tracked. The messages go through the
outbox like any notification: rate-limited, retried, sent once.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from bot.accounts import Accounts
from bot.background import BackgroundLoop
from bot.config import Settings
from bot.smmlaba import PanelException
from storage import outbox, users
from storage.db import Database
from storage.outages import close_outage, open_outage
from storage.outbox import Kind, Notification

logger = logging.getLogger(__name__)


class PanelWatch(BackgroundLoop):
    name = "panel-watch"

    def __init__(
        self,
        accounts: Accounts,
        db: Database,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._accounts = accounts
        self._db = db
        self._admins = settings.admin_ids
        self._panel = str(settings.smmlaba_api_url)
        self._alert_after = settings.panel_alert_after_seconds
        self._every = min(30.0, max(0.05, self._alert_after / 4))
        self._clock = clock
        self._outage: float | None = None  # start of the outage the admins were told about
        self._checked_row = False  # whether an outage row left open has been closed

    async def run_once(self) -> None:
        await self.pause(self._every)
        if not self.stopping:
            await self.probe_and_alert()

    async def probe_and_alert(self) -> None:
        """While the panel is down, probe it; tell the admins when an outage has lasted
        `panel_alert_after_seconds`, and when it ends."""
        health = self._accounts.health
        operator = self._accounts.operator
        if health.down_since is not None and operator is not None:
            with contextlib.suppress(PanelException):  # the client tells `health`
                await operator.tracking_panel.balance()
        if self._outage is None and health.down_since is not None:
            if health.down_for() >= self._alert_after:
                # As the first replica to see it recorded it, so the admins hear of it once.
                self._outage = await open_outage(self._db, self._panel, health.down_since)
                logger.warning("panel unreachable since %.0f: telling the admins", self._outage)
                await self._tell_admins(
                    Kind.PANEL_DOWN, {"since": self._outage, "cause": health.last_failure or ""}
                )
        elif self._outage is None and health.down_since is None and not self._checked_row:
            if health.last_success_at is not None:
                # An outage a stopped replica opened and nobody saw end: it has ended.
                await close_outage(self._db, self._panel, health.last_success_at)
                self._checked_row = True
        elif self._outage is not None and health.down_since is None:
            logger.info("panel answers again: telling the admins")
            await close_outage(self._db, self._panel, health.last_success_at or self._clock())
            await self._tell_admins(
                Kind.PANEL_UP,
                {"since": self._outage, "until": health.last_success_at or self._clock()},
            )
            self._outage = None

    async def _tell_admins(self, kind: Kind, payload: dict[str, object]) -> None:
        for admin_id in sorted(self._admins):
            admin = await users.get(self._db, admin_id)
            if admin is None:
                continue  # never wrote to the bot: Telegram would not let us write first
            await outbox.add(
                self._db,
                Notification(
                    dedupe_key=f"{kind}:{payload['since']}:{admin_id}",
                    user_id=admin_id,
                    chat_id=admin.chat_id,
                    kind=kind,
                    payload=payload,
                ),
            )
