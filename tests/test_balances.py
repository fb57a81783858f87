"""Balances asked for ahead of the confirmation, against the sandbox panel over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from pydantic import SecretStr

from bot.balances import BalancesAhead
from bot.sandbox.panel import Account, SandboxPanel
from bot.smmlaba import PanelUnavailable, SmmLabaClient
from tests.conftest import ALICE, FAST_RETRY
from tests.helpers import eventually


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def until(condition: Callable[[], bool]) -> None:
    """Wait (2 s at most) for what a request asked ahead does in the background."""
    await eventually(
        condition, within=2, interval=0.01, message="the request asked ahead did not happen"
    )
    await asyncio.sleep(0.05)  # and for its answer to be read


@pytest.fixture
async def alices(panel_url: str, alice: Account) -> AsyncIterator[SmmLabaClient]:
    key = SecretStr(alice.api_key)
    async with SmmLabaClient(ALICE, key, url=panel_url, retry=FAST_RETRY) as client:
        yield client


async def test_a_balance_asked_ahead_is_the_one_shown(
    alices: SmmLabaClient, panel: SandboxPanel
) -> None:
    ahead = BalancesAhead(clock=Clock())
    balance = ahead.of(501, alices)
    balance.ask()
    balance.ask()  # a second ask while the first is fresh asks nothing
    assert await balance.get() == Decimal("1000")
    assert panel.calls["balance"] == 1
    assert await balance.get() == Decimal("1000")  # taken once: the next one asks again
    assert panel.calls["balance"] == 2


async def test_an_answer_older_than_fresh_for_is_asked_again(
    alices: SmmLabaClient, panel: SandboxPanel
) -> None:
    clock = Clock()
    balance = BalancesAhead(fresh_for=20, clock=clock).of(501, alices)
    balance.ask()
    await until(lambda: panel.calls["balance"] == 1)  # answered: 1000
    panel.accounts[ALICE].balance = Decimal("7.5")
    clock.now += 21  # the person took their time over the last value
    assert await balance.get() == Decimal("7.5")
    assert panel.calls["balance"] == 2


async def test_a_failed_answer_is_asked_again(alices: SmmLabaClient, panel: SandboxPanel) -> None:
    balance = BalancesAhead(clock=Clock()).of(501, alices)
    panel.set_faults(html_rate=1.0, actions=["balance"])
    balance.ask()
    await until(lambda: panel.calls["balance"] == FAST_RETRY.attempts)  # it has given up
    panel.set_faults()
    assert await balance.get() == Decimal("1000")
    assert panel.calls["balance"] == FAST_RETRY.attempts + 1


async def test_a_failure_both_times_is_the_panels_failure(
    alices: SmmLabaClient, panel: SandboxPanel
) -> None:
    balance = BalancesAhead(clock=Clock()).of(501, alices)
    panel.set_faults(html_rate=1.0, actions=["balance"])
    balance.ask()
    with pytest.raises(PanelUnavailable):
        await balance.get()


async def test_an_answer_from_another_account_is_not_shown(
    alices: SmmLabaClient, panel: SandboxPanel, panel_url: str
) -> None:
    bob = panel.add_account("bob@example.com", "b" * 32, "55")
    ahead = BalancesAhead(clock=Clock())
    ahead.of(501, alices).ask()  # then 501 linked Bob's account before confirming
    async with SmmLabaClient(bob.username, SecretStr(bob.api_key), url=panel_url) as bobs:
        assert await ahead.of(501, bobs).get() == Decimal("55")
