"""The one rate limiter: a token bucket, at most `rate` acquisitions a second on average and
`burst` at once. The tracker (checks per account), the notifier (messages overall), per-person
throttling and the Telegram emulator's limits all use it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """With `burst=1`, acquisitions are evenly spaced: never more than `rate` in any second."""

    def __init__(
        self, rate: float, burst: float = 1.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = max(1.0, burst)
        self._tokens = self.capacity
        self._clock = clock
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def wait_time(self) -> float:
        """Seconds until a token is available (0 if one is now)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def is_full(self) -> bool:
        self._refill()
        return self._tokens >= self.capacity

    def try_acquire(self) -> bool:
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    async def acquire(self) -> None:
        """Wait for a token; waiters are served in order."""
        async with self._lock:
            while not self.try_acquire():  # noqa: ASYNC110 - sleeping until the refill is the point
                await asyncio.sleep(self.wait_time())
