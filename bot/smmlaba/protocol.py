"""The small surface the rest of the bot needs from a panel, so another panel API can be one
more module rather than a rewrite."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol

from bot.smmlaba.models import OrderStatus, PlacedOrder, Service


class Panel(Protocol):
    async def test(self) -> None: ...

    async def balance(self) -> Decimal: ...

    async def services(self, service_id: str | None = None) -> list[Service]: ...

    async def add(self, service_id: str, params: Mapping[str, str]) -> PlacedOrder: ...

    async def check(self, order_id: str) -> OrderStatus: ...
