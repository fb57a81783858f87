"""The tracker against the sandbox panel directly: request rate, concurrency and intervals."""

from __future__ import annotations

import time
from decimal import Decimal

from pydantic import SecretStr

from bot.health import CircuitBreaker, PanelHealth
from bot.sandbox.panel import Account, SandboxPanel
from bot.smmlaba import Panel, RetryPolicy, SmmLabaClient
from bot.tracker import Tracker, TrackerConfig
from storage import orders, users
from storage.db import Database
from storage.orders import Order
from tests.helpers import eventually


async def open_orders(db: Database, client: SmmLabaClient, count: int) -> None:
    await users.touch(db, 1, chat_id=1, first_name="A", telegram_language="en")
    for index in range(count):
        placed = await client.add("389", {"url": "https://instagram.com/p/x", "count": "100"})
        token = f"t{index}"
        await orders.start_submitting(
            db,
            token=token,
            user_id=1,
            chat_id=1,
            account=client.username,
            service_id="389",
            service_name="Instagram Likes",
            params={},
            quantity=100,
            total=Decimal("0.05"),
        )
        await orders.mark_placed(
            db, token, panel_order_id=placed.order_id, charged=None, next_check_at=0
        )


async def test_checks_keep_to_the_account_rate(
    db: Database, panel: SandboxPanel, panel_url: str, alice: Account
) -> None:
    async with SmmLabaClient(
        alice.username, SecretStr(alice.api_key), url=panel_url, retry=RetryPolicy(attempts=1)
    ) as client:
        await open_orders(db, client, 120)

        def panel_for(_order: Order) -> Panel:
            return client

        config = TrackerConfig(base_interval=60, rate_per_second=40, concurrency=8, idle_poll=0.05)
        tracker = Tracker(db, panel_for, config)
        before = panel.calls["check"]
        started = time.monotonic()
        tracker.start()
        await eventually(lambda: panel.calls["check"] - before >= 120, within=20, interval=0.01)
        elapsed = time.monotonic() - started
        await tracker.stop()
    # 120 checks at 40/s with a burst of 40: at least (120 - 40) / 40 = 2 s.
    assert elapsed >= 1.8, elapsed
    assert await orders.due_for_check(db, time.time(), 10) == []  # each rescheduled


def test_intervals_grow_for_quiet_orders_and_are_capped() -> None:
    config = TrackerConfig(base_interval=60, max_interval=900, jitter=0.1)
    first = [config.interval(0) for _ in range(50)]
    assert all(54 <= value <= 66 for value in first)
    assert len(set(first)) > 1  # jittered: orders placed together spread out
    medians = [sorted(config.interval(q) for _ in range(21))[10] for q in range(6)]
    assert medians == sorted(medians)  # 60 s growing by half each quiet check
    capped = [config.interval(q) for q in range(10, 40)]
    assert all(810 <= value <= 990 for value in capped)  # 15 min, give or take the jitter


def test_the_breaker_probes_at_once_when_the_panel_answers_anyone() -> None:
    now = [1000.0]
    health = PanelHealth(lambda: now[0])
    breaker = CircuitBreaker(health, after=1, base=60, cap=300, clock=lambda: now[0])
    health.answered()  # before the outage
    breaker.failed()
    assert breaker.holds_for(now[0]) == 60
    now[0] += 10
    assert breaker.holds_for(now[0]) == 50
    health.answered()  # a person's order went through: the panel is back
    assert breaker.holds_for(now[0]) == 0
    breaker.failed()  # the probe failed all the same: hold again, twice as long
    assert breaker.holds_for(now[0]) == 120
    breaker.succeeded()
    assert breaker.holds_for(now[0]) == 0


def test_the_breaker_opens_backs_off_and_closes() -> None:
    now = [1000.0]
    breaker = CircuitBreaker(after=3, base=5, cap=30, clock=lambda: now[0])
    breaker.failed()
    breaker.failed()
    assert not breaker.is_open
    breaker.failed()
    assert breaker.is_open
    assert breaker.retry_at == 1005
    for _ in range(20):  # answers to checks sent before it opened
        breaker.failed()
    assert breaker.retry_at == 1005
    now[0] = 1005  # the probe fails: twice as long
    breaker.failed()
    assert breaker.retry_at == 1015
    now[0] = 1015
    breaker.failed()
    now[0] = 1035
    breaker.failed()
    assert breaker.retry_at == 1035 + 30  # capped
    breaker.succeeded()
    assert not breaker.is_open
