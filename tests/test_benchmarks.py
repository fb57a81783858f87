"""The benchmarks still walk the whole conversation as the bot changes. Their figures are
not checked here: speed is measured by running them, never asserted in tests."""

from __future__ import annotations

import pytest

from benchmarks import update_cost
from benchmarks.flow import FLOW


@pytest.mark.slow  # the sandbox panel runs as `python -m bot sandbox-panel`
async def test_update_cost_walks_whole_orders() -> None:
    # measure() itself fails unless every walk placed its order (a balance and an add each).
    figures = await update_cost.measure(users=3, runs=1)
    assert list(figures["step_ms"]) == [text[:24] for _, text in FLOW]
    assert list(figures["bare_step_ms"]) == list(figures["step_ms"])
    # The answers went through Telegram: at least a Bot API request per update (how many an
    # answer takes is the bot's business, not pinned here) for 3 people, a warm-up walk and a
    # measured one, through the bot and through the bare dispatcher.
    updates = len(FLOW) * 3 * 2 * 2
    assert figures["telegram_requests"] >= updates
    assert figures["panel_request_ms"] > 0
