"""Whether the panel is up, in one place. Every panel client reports each exchange to one
`PanelHealth`, which /stats and the admins' alert (`bot.panel_watch`) read; the tracker's
`CircuitBreaker` applies the same rule (any answer means up) to its own checks, to pause
them during an outage and probe for the panel's return."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class PanelHealth:
    """`down_since` is when the current run of failed exchanges began (None while the panel
    answers). Any answer counts as up, a refusal included: the panel is there."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.last_success_at: float | None = None
        self.down_since: float | None = None
        self.last_failure: str | None = None

    def answered(self) -> None:
        self.last_success_at = self._clock()
        self.down_since = None

    def failed(self, cause: str) -> None:
        self.last_failure = cause
        if self.down_since is None:
            self.down_since = self._clock()

    def down_for(self) -> float:
        """Seconds the panel has been unreachable; 0 while it answers."""
        return 0.0 if self.down_since is None else self._clock() - self.down_since


class CircuitBreaker:
    """Closed: checks flow. `after` failed exchanges in a row open it: nothing is sent until
    `retry_at`, then one probe decides. Each failed probe doubles the pause, up to `cap`."""

    def __init__(
        self,
        *,
        after: int,
        base: float,
        cap: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._after = after
        self._base = base
        self._cap = cap
        self._clock = clock
        self.failures = 0
        self.opened = 0  # times opened in a row
        self.retry_at = 0.0

    @property
    def is_open(self) -> bool:
        return self.opened > 0

    def succeeded(self) -> None:
        if self.opened:
            logger.info("panel answers again: tracking resumes")
        self.failures = self.opened = 0

    def failed(self) -> None:
        if self.opened and self._clock() < self.retry_at:
            return  # more answers from checks sent before it opened: not a failed probe
        self.failures += 1
        if self.opened or self.failures >= self._after:
            backoff = min(self._cap, self._base * 2**self.opened)
            self.opened += 1
            self.retry_at = self._clock() + backoff
            logger.warning("panel unavailable: pausing tracking for %.1fs", backoff)
