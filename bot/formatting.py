"""How numbers, money and progress look in messages."""

from __future__ import annotations

from decimal import Decimal
from html import escape


def number(value: int | Decimal | None) -> str:
    """Thousands separated: 10000 -> "10,000"."""
    if value is None:
        return "?"
    return f"{value:,}"


def money(value: Decimal) -> str:
    """An exact amount, thousands separated, without trailing zeros past two decimals."""
    normalized = value.normalize()
    if normalized == normalized.to_integral_value():
        normalized = normalized.quantize(Decimal(1))
    exponent = normalized.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) and exponent < 0 else 2
    return f"{value:,.{places}f}"


def progress_bar(delivered: int, ordered: int, width: int = 10) -> str:
    """▓▓▓▓▓▓░░░░ 60%"""
    share = 0 if ordered <= 0 else max(0, min(1, delivered / ordered))
    filled = round(share * width)
    return f"{'▓' * filled}{'░' * (width - filled)} {round(share * 100)}%"


def quote(text: str) -> str:
    """Text from the panel or a person, safe inside an HTML message."""
    return escape(text, quote=False)


def short(text: str, limit: int = 120) -> str:
    """At most `limit` characters: longer text ends in "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
