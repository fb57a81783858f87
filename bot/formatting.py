"""How numbers, money, progress and times look in messages."""

from __future__ import annotations

from datetime import UTC, datetime
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


def utc_time(timestamp: float) -> str:
    """`2026-11-27 12:30`: when something happened, in UTC."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


def duration(seconds: float) -> str:
    """A rough length of time: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def masked_email(email: str) -> str:
    """`alice@example.com` -> `al***@example.com`: recognisable, not copyable."""
    local, at, domain = email.partition("@")
    if not at:
        return local[:2] + "***"
    return f"{local[: 2 if len(local) > 3 else 1]}***@{domain}"
