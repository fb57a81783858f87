"""Is the panel answering? Every client reports each exchange here; admins see the result in
/stats and are told when an outage lasts."""

from __future__ import annotations

import time
from collections.abc import Callable


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
