"""The shared HTTP pool to the panel: a burst neither spins nor churns connections, a stuck
panel does not keep waiting requests forever, and background checks never take the connections
a person's order needs."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr

from bot.sandbox.panel import SandboxPanel
from bot.smmlaba import PanelNotSent, PanelUnavailable, RetryPolicy, SmmLabaClient
from bot.smmlaba.pool import LANES, RESERVED, panel_http
from tests.conftest import ALICE, FAST_RETRY
from tests.helpers import eventually

ORDER = {"url": "https://instagram.com/p/abc", "count": "100"}
# Far longer than anything below should take: a bound for a test that fails, not a timing.
PATIENCE = 10.0
HANG = 60.0


async def test_a_burst_shares_a_few_kept_alive_connections(
    panel_url: str, panel: SandboxPanel, alice: object
) -> None:
    key = panel.accounts[ALICE].api_key
    async with panel_http(lanes=4, reserved=0) as http:

        async def balance() -> httpx.Response:
            return await http.post(
                panel_url,
                data={"username": ALICE, "apikey": key, "action": "balance"},
            )

        answers = await asyncio.gather(*(balance() for _ in range(120)))
    assert all(answer.json()["result"] == "success" for answer in answers)
    assert panel.calls["balance"] == 120
    # Every request went out once, on one of 4 connections kept alive throughout (httpx's
    # default pool opened one per request here).
    assert len(panel.peers) == 4


async def test_a_request_waits_for_a_free_connection_no_longer_than_its_timeout(
    panel_url: str, panel: SandboxPanel, alice: object
) -> None:
    panel.set_faults(hang_rate=1.0, actions=["add"])
    key = SecretStr(panel.accounts[ALICE].api_key)
    async with (
        panel_http(lanes=1, reserved=0) as http,
        SmmLabaClient(ALICE, key, url=panel_url, timeout=1.0, http=http) as patient,
        SmmLabaClient(ALICE, key, url=panel_url, timeout=0.2, retry=FAST_RETRY, http=http) as hasty,
    ):
        stuck = asyncio.create_task(patient.add("389", {"url": "https://x.test/p", "count": "1"}))
        await asyncio.sleep(0.05)  # the hung `add` now holds the only connection
        with pytest.raises(PanelNotSent, match="PoolTimeout"):
            await hasty.test()
        assert panel.calls["test"] == 0
        with pytest.raises(PanelUnavailable, match="ReadTimeout") as failed:
            await stuck
        assert not isinstance(failed.value, PanelNotSent)
        # Its timeout gave the connection back: the next request goes through.
        await hasty.test()
    assert panel.calls["test"] == 1


async def test_a_failed_connection_frees_its_lane() -> None:
    async with panel_http(lanes=1, reserved=0) as http:
        for _ in range(3):
            with pytest.raises(httpx.ConnectError):
                # Port 9 (discard) on loopback: nothing listens, so the connection is refused.
                await http.post("http://127.0.0.1:9/vkapi/v1/", data={}, timeout=1.0)


async def wait_for_calls(panel: SandboxPanel, count: int, *actions: str) -> None:
    """Until the panel has received `count` requests for `actions` in all."""

    def seen() -> int:
        return sum(panel.calls[action] for action in actions)

    await eventually(
        lambda: seen() >= count,
        within=PATIENCE,
        interval=0.01,
        message=lambda: f"the panel saw {seen()} of {count} {actions}",
    )


async def test_hung_background_requests_leave_lanes_for_a_persons_order(
    panel_url: str, panel: SandboxPanel, alice: object
) -> None:
    panel.set_faults(hang_rate=1.0, actions=["check", "services"], hang_seconds=HANG)
    key = SecretStr(panel.accounts[ALICE].api_key)
    once = RetryPolicy(attempts=1)
    async with (
        panel_http() as http,
        SmmLabaClient(
            ALICE, key, url=panel_url, timeout=HANG, retry=once, http=http, background=True
        ) as tracker,
        SmmLabaClient(ALICE, key, url=panel_url, timeout=HANG, retry=once, http=http) as catalog,
        SmmLabaClient(ALICE, key, url=panel_url, timeout=HANG, http=http) as person,
    ):
        # More background requests than lanes: without a reserve they would take every one.
        background = [
            asyncio.create_task(tracker.check(str(7000000 + n)) if n % 2 else catalog.services())
            for n in range(LANES + 4)
        ]
        try:
            await wait_for_calls(panel, LANES - RESERVED, "check", "services")
            placed, balance = await asyncio.wait_for(
                asyncio.gather(person.add("389", ORDER), person.balance()), PATIENCE
            )
            assert placed.order_id
            assert balance < 1000
            assert panel.calls["add"] == 1
            # Those past their budget are still waiting for a lane, not at the panel.
            assert panel.calls["check"] + panel.calls["services"] == LANES - RESERVED
            assert not any(task.done() for task in background)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)


async def test_a_background_request_waits_for_its_budget_no_longer_than_its_timeout(
    panel_url: str, panel: SandboxPanel, alice: object
) -> None:
    panel.set_faults(hang_rate=1.0, actions=["check"], hang_seconds=HANG)
    key = SecretStr(panel.accounts[ALICE].api_key)
    async with (
        panel_http(lanes=2, reserved=1) as http,
        SmmLabaClient(
            ALICE, key, url=panel_url, timeout=HANG, http=http, background=True
        ) as patient,
        SmmLabaClient(ALICE, key, url=panel_url, timeout=0.2, retry=FAST_RETRY, http=http) as hasty,
    ):
        stuck = asyncio.create_task(patient.check("7000000"))
        try:
            await wait_for_calls(panel, 1, "check")
            # A lane is free, but it is the one kept for people.
            with pytest.raises(PanelNotSent, match="PoolTimeout"):
                await hasty.services()
            assert panel.calls["services"] == 0
            await hasty.test()
        finally:
            stuck.cancel()
            await asyncio.gather(stuck, return_exceptions=True)
    assert panel.calls["test"] == 1


async def test_an_add_that_found_no_free_lane_was_not_sent(
    panel_url: str, panel: SandboxPanel, alice: object
) -> None:
    panel.set_faults(hang_rate=1.0, actions=["check", "balance"], hang_seconds=HANG)
    key = SecretStr(panel.accounts[ALICE].api_key)
    async with (
        panel_http(lanes=2, reserved=1) as http,
        SmmLabaClient(
            ALICE, key, url=panel_url, timeout=HANG, http=http, background=True
        ) as tracker,
        SmmLabaClient(ALICE, key, url=panel_url, timeout=HANG, http=http) as patient,
        SmmLabaClient(ALICE, key, url=panel_url, timeout=0.2, http=http) as hasty,
    ):
        # The tracker's check holds the background lane, a person's balance the reserved one.
        stuck = [
            asyncio.create_task(tracker.check("7000000")),
            asyncio.create_task(patient.balance()),
        ]
        try:
            await wait_for_calls(panel, 2, "check", "balance")
            with pytest.raises(PanelNotSent, match="PoolTimeout") as failed:
                await hasty.add("389", ORDER)
            assert failed.value.action == "add"
            assert panel.calls["add"] == 0
        finally:
            for task in stuck:
                task.cancel()
            await asyncio.gather(*stuck, return_exceptions=True)
