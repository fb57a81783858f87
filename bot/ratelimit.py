"""The one rate limiter: a token bucket, at most `rate` acquisitions a second on average and
`burst` at once. The tracker (checks per account), the notifier (messages overall), per-person
throttling and the Telegram emulator's limits all use it. Several replicas share theirs
through Redis (`SharedBucket`): the same bucket, one key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis


class Limiter(Protocol):
    async def acquire(self) -> None:
        """Wait until one more is allowed."""
        ...


# (name, rate, burst) -> the limiter of that name: a bucket of this process's, or one shared.
Limiters = Callable[[str, float, float], Limiter]


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


def local_limiters() -> Limiters:
    """Buckets of this process: right for the only replica."""
    return lambda _name, rate, burst: TokenBucket(rate, burst)


# GCRA: the key holds the time (µs, Redis's own clock: replicas' clocks may differ) at which
# the bucket is empty again; a take is allowed up to `burst - 1` intervals before it. Returns
# the µs to wait, 0 when taken.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local empty_at = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local wait = empty_at - tolerance - now
if wait > 0 then return wait end
local next_empty = empty_at + interval
redis.call('SET', KEYS[1], next_empty, 'PX', math.ceil((next_empty - now) / 1000) + 1000)
return 0
"""


class SharedBucket:
    """A token bucket that every replica draws from, kept in Redis under `key`."""

    def __init__(self, redis: Redis, key: str, rate: float, burst: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self._take = redis.register_script(_TAKE)
        self._key = key
        self._interval = round(1_000_000 / rate)
        self._tolerance = round((max(1.0, burst) - 1) * self._interval)
        self._lock = asyncio.Lock()  # this process's waiters ask Redis one at a time

    async def acquire(self) -> None:
        async with self._lock:
            # Sleeping until Redis says a take is allowed is the point.
            while wait := int(await self._take([self._key], [self._interval, self._tolerance])):  # noqa: ASYNC110
                await asyncio.sleep(wait / 1_000_000)


def shared_limiters(redis: Redis, prefix: str) -> Limiters:
    """Buckets in Redis, named `prefix:name`: every replica with the same prefix shares them."""
    return lambda name, rate, burst: SharedBucket(redis, f"{prefix}:{name}", rate, burst)
