"""The panel's status codes as order states.

The table is an inference from public code (docs/PANEL_API.md), so it is data, not logic: pass
another one where the panel turns out to differ. Unknown codes count as still running.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.smmlaba import OrderStatus
from storage.orders import OrderState

DEFAULT_STATUS_STATES: Mapping[str, OrderState] = {
    "1": OrderState.PENDING,
    "2": OrderState.IN_PROGRESS,
    "5": OrderState.COMPLETED,
    "7": OrderState.CANCELLED,
    "11": OrderState.REFUNDED,
    "17": OrderState.IN_PROGRESS,
}


def state_of(
    status: OrderStatus, table: Mapping[str, OrderState] = DEFAULT_STATUS_STATES
) -> OrderState:
    state = table.get(status.status.strip(), OrderState.IN_PROGRESS)
    delivered = status.delivered or 0
    # A finished order that delivered some but not all of it is a partial one, whichever
    # code the panel used to close it.
    finished = state in (OrderState.COMPLETED, OrderState.REFUNDED)
    if finished and status.count and 0 < delivered < status.count:
        return OrderState.PARTIAL
    return state


def panel_words(
    status: OrderStatus, table: Mapping[str, OrderState] = DEFAULT_STATUS_STATES
) -> str:
    """The panel's own words for the status, kept only for a code the bot has no wording
    of its own for: a known code is shown as its state, in the person's language."""
    return "" if status.status.strip() in table else status.status_text
