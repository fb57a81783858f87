"""The shared HTTP pool to the panel: a burst neither spins nor churns connections, and a
stuck panel does not keep waiting requests forever."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.sandbox.panel import SandboxPanel
from bot.smmlaba import PanelUnavailable, SmmLabaClient
from bot.smmlaba.pool import panel_http
from tests.conftest import ALICE, FAST_RETRY


class Events:
    """httpcore's trace of every request: what each did, in order."""

    def __init__(self) -> None:
        self.names: list[str] = []

    async def __call__(self, name: str, _info: dict[str, Any]) -> None:
        self.names.append(name)

    def count(self, name: str) -> int:
        return self.names.count(name)


async def test_a_burst_shares_a_few_kept_alive_connections(
    panel_url: str, panel: SandboxPanel, alice: object
) -> None:
    key = panel.accounts[ALICE].api_key
    events = Events()
    async with panel_http(lanes=4) as http:

        async def balance() -> httpx.Response:
            return await http.post(
                panel_url,
                data={"username": ALICE, "apikey": key, "action": "balance"},
                extensions={"trace": events},
            )

        answers = await asyncio.gather(*(balance() for _ in range(120)))
    assert all(answer.json()["result"] == "success" for answer in answers)
    assert panel.calls["balance"] == 120
    # Every request went out once, on one of 4 connections kept alive throughout (httpx's
    # default pool opened one per request here).
    assert events.count("http11.send_request_headers.started") == 120
    assert events.count("connection.connect_tcp.started") == 4


async def test_a_request_waits_for_a_free_connection_no_longer_than_its_timeout(
    panel_url: str, panel: SandboxPanel, alice: object
) -> None:
    panel.set_faults(hang_rate=1.0, actions=["add"])
    key = SecretStr(panel.accounts[ALICE].api_key)
    async with (
        panel_http(lanes=1) as http,
        SmmLabaClient(ALICE, key, url=panel_url, timeout=1.0, http=http) as patient,
        SmmLabaClient(ALICE, key, url=panel_url, timeout=0.2, retry=FAST_RETRY, http=http) as hasty,
    ):
        stuck = asyncio.create_task(patient.add("389", {"url": "https://x.test/p", "count": "1"}))
        await asyncio.sleep(0.05)  # the hung `add` now holds the only connection
        with pytest.raises(PanelUnavailable, match="PoolTimeout"):
            await hasty.test()
        assert panel.calls["test"] == 0
        with pytest.raises(PanelUnavailable, match="ReadTimeout"):
            await stuck
        # Its timeout gave the connection back: the next request goes through.
        await hasty.test()
    assert panel.calls["test"] == 1


async def test_a_failed_connection_frees_its_lane() -> None:
    async with panel_http(lanes=1) as http:
        for _ in range(3):
            with pytest.raises(httpx.ConnectError):
                # Port 9 (discard) on loopback: nothing listens, so the connection is refused.
                await http.post("http://127.0.0.1:9/vkapi/v1/", data={}, timeout=1.0)
