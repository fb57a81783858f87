"""The SMMLaba panel: its client, its answers and its failures."""

from bot.smmlaba.client import DEFAULT_URL, RetryPolicy, SmmLabaClient
from bot.smmlaba.errors import (
    PanelError,
    PanelException,
    PanelNotSent,
    PanelProtocolError,
    PanelUnavailable,
    Refusal,
    refusal_of,
)
from bot.smmlaba.models import OrderStatus, PlacedOrder, Price, Service, ServiceParam, delivered
from bot.smmlaba.protocol import Panel

__all__ = [
    "DEFAULT_URL",
    "OrderStatus",
    "Panel",
    "PanelError",
    "PanelException",
    "PanelNotSent",
    "PanelProtocolError",
    "PanelUnavailable",
    "PlacedOrder",
    "Price",
    "Refusal",
    "RetryPolicy",
    "Service",
    "ServiceParam",
    "SmmLabaClient",
    "delivered",
    "refusal_of",
]
