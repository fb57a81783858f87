"""Limits that hold across replicas: the same bucket in Redis, whoever draws from it."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from bot.ratelimit import SharedBucket, shared_limiters


def most_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    return max(sum(1 for t in times if start <= t < start + 1.0) for start in times)


async def test_two_replicas_drawing_from_one_bucket_keep_its_rate_together(
    redis_server: str,
) -> None:
    first, second = Redis.from_url(redis_server), Redis.from_url(redis_server)
    try:
        buckets = [SharedBucket(client, "test:rate:together", 10, 1) for client in (first, second)]
        taken: list[float] = []

        async def draw(bucket: SharedBucket, times: int) -> None:
            for _ in range(times):
                await bucket.acquire()
                taken.append(time.monotonic())

        await asyncio.gather(*(draw(bucket, 15) for bucket in buckets))
    finally:
        await first.aclose()
        await second.aclose()
    assert len(taken) == 30
    # 10 a second between them, evenly spaced: never 20, as two buckets of their own give.
    assert most_in_any_second(taken) <= 11


async def test_a_burst_is_shared_too_and_names_keep_buckets_apart(redis_server: str) -> None:
    client = Redis.from_url(redis_server)
    try:
        limiters = shared_limiters(client, "test:names")
        panel_a, panel_b = limiters("panel:a", 5, 5), limiters("panel:b", 5, 5)
        started = time.monotonic()
        await asyncio.gather(*(panel_a.acquire() for _ in range(5)))
        await asyncio.gather(*(panel_b.acquire() for _ in range(5)))  # a bucket of its own
        assert await client.exists("test:names:panel:a", "test:names:panel:b") == 2
        again = limiters("panel:a", 5, 5)  # another replica's handle on the same bucket
        await asyncio.gather(*(again.acquire() for _ in range(5)))
        elapsed = time.monotonic() - started
    finally:
        await client.aclose()
    # The burst of 5 was spent: the next five come at the rate, about a second later.
    assert elapsed >= 0.7
