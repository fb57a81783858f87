"""The benchmarks still walk the whole conversation as the bot changes. Their figures are
not checked here: speed is measured by running them, never asserted in tests."""

from __future__ import annotations

from benchmarks import update_cost
from benchmarks.flow import FLOW


async def test_update_cost_walks_whole_orders() -> None:
    # measure() itself fails unless every walk placed its order (a balance and an add each).
    figures = await update_cost.measure(users=3, runs=1)
    assert list(figures["step_ms"]) == [text[:24] for _, text in FLOW]
    assert list(figures["bare_step_ms"]) == list(figures["step_ms"])
    # Per order, 18 Bot API requests from the bot and as many from the bare dispatcher:
    # 3 people, a warm-up walk and a measured one, for each.
    assert figures["telegram_requests"] == 18 * 3 * 2 * 2
    assert figures["panel_request_ms"] > 0
