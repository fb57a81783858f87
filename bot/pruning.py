"""The daily pruning: old sent notifications, old events of finished orders, and old or empty
conversations are deleted, as `storage.retention` allows (it says what is kept, and why).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.background import BackgroundLoop
from bot.config import Settings
from storage import retention
from storage.db import Database
from storage.retention import Pruned, RetentionPolicy

logger = logging.getLogger(__name__)

FIRST_AFTER = 60.0  # seconds after start-up: out of the way of the start-up's own work
EVERY = retention.DAY


def retention_policy(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(
        sent_notifications_days=settings.keep_sent_notifications_days,
        order_events_days=settings.keep_order_events_days,
        conversations_days=settings.keep_conversations_days,
    )


class Pruning(BackgroundLoop):
    """Prunes `FIRST_AFTER` seconds after `start()`, then every `EVERY`. A pruning that fails
    is logged and tried again at the next turn; one under way at `stop()` ends after its
    current statement, the rest left for the next start."""

    name = "pruning"

    def __init__(
        self,
        db: Database,
        policy: RetentionPolicy,
        *,
        first_after: float = FIRST_AFTER,
        every: float = EVERY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._db = db
        self._policy = policy
        self._first_after = first_after
        self._every = every
        self._clock = clock
        self._wait = first_after
        self.last: Pruned | None = None  # what the last pruning that succeeded deleted

    def start(self) -> None:
        self._wait = self._first_after
        super().start()

    async def run_once(self) -> None:
        await self.pause(self._wait)
        if self.stopping:
            return
        self._wait = self._every
        try:
            await self.prune_now()
        except Exception:
            logger.exception("pruning failed; trying again in %.0f s", self._every)

    async def prune_now(self) -> Pruned:
        """Prune once, now; logs what went in one line."""
        policy = self._policy
        pruned = await retention.prune(
            self._db, policy, self._clock(), keep_going=lambda: not self.stopping
        )
        self.last = pruned
        logger.info(
            "pruned %d notifications (sent or dropped over %g days ago), %d events of finished "
            "orders (over %g days old), %d conversations (empty, or untouched for %g days)%s",
            pruned.notifications,
            policy.sent_notifications_days,
            pruned.order_events,
            policy.order_events_days,
            pruned.conversations,
            policy.conversations_days,
            "" if pruned.complete else "; stopped half-way, the rest is for the next time",
        )
        return pruned
