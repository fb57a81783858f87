"""Whether the panel is up, in one place. Every panel client reports each exchange to one
`PanelHealth`, which /stats, the admins' alert (`bot.panel_watch`) and the tracker's
`CircuitBreaker` read. The breaker pauses checks after failures of its own and probes with
backoff, and probes at once when the panel has answered anyone since it opened."""

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
    `retry_at`, or until `health` hears the panel answer anyone, then one probe decides. Each
    failed probe doubles the pause, up to `cap`."""

    def __init__(
        self,
        health: PanelHealth | None = None,
        *,
        after: int,
        base: float,
        cap: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._health = health
        self._after = after
        self._base = base
        self._cap = cap
        self._clock = clock
        self.failures = 0
        self.opened = 0  # times opened in a row
        self.opened_at = 0.0
        self.retry_at = 0.0

    @property
    def is_open(self) -> bool:
        return self.opened > 0

    def succeeded(self) -> None:
        if self.opened:
            logger.info("panel answers again: tracking resumes")
        self.failures = self.opened = 0

    def failed(self) -> None:
        if self.opened and self.holds_for(self._clock()):
            return  # more answers from checks sent before it opened: not a failed probe
        self.failures += 1
        if self.opened or self.failures >= self._after:
            backoff = min(self._cap, self._base * 2**self.opened)
            self.opened += 1
            self.opened_at = self._clock()
            self.retry_at = self.opened_at + backoff
            logger.warning("panel unavailable: pausing tracking for %.1fs", backoff)

    def holds_for(self, now: float) -> float:
        """Seconds checks must still wait: none while closed, once the pause is over, or once
        the panel has answered anyone (a person's order, a balance) since the breaker opened."""
        if not self.opened or now >= self.retry_at:
            return 0.0
        answered = self._health.last_success_at if self._health is not None else None
        if answered is not None and answered > self.opened_at:
            return 0.0
        return self.retry_at - now
