"""Panel status codes as order states."""

from __future__ import annotations

import pytest

from bot.app import tracker_settings
from bot.config import load_settings
from bot.smmlaba import OrderStatus
from bot.statuses import state_of
from storage.orders import OrderState


def status(code: str, count: int | None = 100, remain: int | None = 0) -> OrderStatus:
    return OrderStatus.model_validate(
        {"orderid": "1", "status": code, "statusText": "x", "count": count, "remain": remain}
    )


@pytest.mark.parametrize(
    ("code", "remain", "state"),
    [
        ("1", 100, OrderState.PENDING),
        ("2", 40, OrderState.IN_PROGRESS),
        ("17", 40, OrderState.IN_PROGRESS),
        ("5", 0, OrderState.COMPLETED),
        ("5", 30, OrderState.PARTIAL),
        ("7", 100, OrderState.CANCELLED),
        ("11", 100, OrderState.REFUNDED),
        ("11", 60, OrderState.PARTIAL),
        ("99", 50, OrderState.IN_PROGRESS),  # unknown: still running
        (" 2 ", 50, OrderState.IN_PROGRESS),
    ],
)
def test_codes_map_to_states(code: str, remain: int, state: OrderState) -> None:
    assert state_of(status(code, remain=remain)) is state


def test_the_table_can_be_extended_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMMLABA_STATUS_MAP", "20=completed, 3=pending")
    config = tracker_settings(load_settings(_env_file=None))
    assert state_of(status("20"), config.status_states) is OrderState.COMPLETED
    assert state_of(status("3", remain=100), config.status_states) is OrderState.PENDING
    assert state_of(status("7", remain=100), config.status_states) is OrderState.CANCELLED
