"""How numbers, money, progress and times look in messages: the one place they are formatted.

Numbers and money follow the person's locale (aiogram's i18n context; English outside an
update, as in the CLI): `10,000` and `RUB 4,900.00` in English, `10 000` and `4 900,00 ₽` in
Russian. `PANEL_CURRENCY` is an ISO code; the sign shown is the one Babel (CLDR) knows for it
in that locale, or the code itself.

Money is Decimal throughout. An amount shows its currency's decimals (two for RUB) and more
only where the exact amount needs them (`0.125`), never more than `MAX_PLACES`. A balance is
rounded down to the currency's decimals (`balance`): rounding half-even could show 2,638.38 for
2,638.375, money the person does not have.
"""

from __future__ import annotations

import contextlib
import decimal
import functools
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from html import escape

from aiogram.utils.i18n import get_i18n
from babel.core import Locale
from babel.dates import format_datetime
from babel.numbers import (
    NumberPattern,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    parse_pattern,
)

DEFAULT_LOCALE = "en"
# An exact amount past this many decimals is a division that never ends (a price per 3 units):
# it is rounded half-even here rather than shown with 28 digits.
MAX_PLACES = 6
_NBSP = "\u00a0"


def current_locale() -> str:
    """The person's locale in an update; English elsewhere (the CLI, a background task)."""
    try:
        return get_i18n().current_locale
    except LookupError:
        return DEFAULT_LOCALE


def number(value: int | Decimal | None, *, locale: str | None = None) -> str:
    """Grouped as the locale groups: 10000 -> "10,000" (English), "10 000" (Russian)."""
    if value is None:
        return "?"
    where, pattern, group = _number_format(locale or current_locale())
    if isinstance(value, int) and group is not None:
        return f"{value:,}".replace(",", group)  # what Babel writes, in a tenth of its time
    with _digits_for(value):
        if isinstance(value, Decimal):
            value = _exact(value)
        return str(pattern.apply(value, where, decimal_quantization=False))


@functools.lru_cache(maxsize=64)
def _number_format(locale: str) -> tuple[Locale, NumberPattern, str | None]:
    """The locale, its number pattern, parsed once (Babel parses both on every call), and
    its group sign when it groups by thousands, as Python's `,` format does."""
    where = Locale.parse(locale)
    pattern = where.decimal_formats[None]
    group = str(where.number_symbols["latn"]["group"]) if pattern.grouping == (3, 3) else None
    return where, pattern, group


def _digits_for(value: int | Decimal) -> AbstractContextManager[object]:
    """A decimal context wide enough for every digit of `value`: Babel rounds in the current
    one, whose 28 digits a typed 10^40 outgrows."""
    if isinstance(value, Decimal):
        digits = max(len(value.as_tuple().digits), value.adjusted() + 1) if value.is_finite() else 1
    else:
        digits = len(str(abs(value)))
    needed = digits + MAX_PLACES + 2
    current = decimal.getcontext().prec
    return decimal.localcontext(prec=needed) if needed > current else contextlib.nullcontext()


def money(value: Decimal, currency: str | None = None, *, locale: str | None = None) -> str:
    """An exact amount: the currency's decimals (two without a currency), more only where the
    amount has them, trailing zeros trimmed past those; with `currency`, its sign where the
    locale puts it. Plain text: quote() it inside HTML."""
    where, pattern, before, after = _money_format(currency, locale or current_locale())
    with _digits_for(value):
        amount = str(pattern.apply(abs(_exact(value)), where, decimal_quantization=False))
    return ("-" if value < 0 else "") + before + amount + after


@functools.lru_cache(maxsize=64)
def _money_format(currency: str | None, locale: str) -> tuple[Locale, NumberPattern, str, str]:
    """The locale, the amount's pattern (the currency's decimals at least) and what goes
    before and after the amount, worked out once per currency and locale from how Babel
    (CLDR) writes one unit of it: each call to Babel's `format_currency` costs ~50 µs."""
    where = Locale.parse(locale)
    places = get_currency_precision(currency) if currency else 2
    pattern = parse_pattern("#,##0" + ("." + "0" * places if places else ""))
    if currency is None:
        return where, pattern, "", ""
    one = pattern.apply(Decimal(1), where)
    shown = _spaced(
        format_currency(Decimal(1), currency, locale=where), get_currency_symbol(currency, where)
    )
    before, _, after = shown.partition(one)
    return where, pattern, before, after


def balance(value: Decimal, currency: str | None = None, *, locale: str | None = None) -> str:
    """Money the person holds, rounded down to the currency's decimals: 2638.3745 ->
    2,638.37; never more than they have (a negative balance rounds away from zero)."""
    places = get_currency_precision(currency) if currency else 2
    with _digits_for(value):
        held = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_FLOOR)
    return money(held, currency, locale=locale)


def _exact(value: Decimal) -> Decimal:
    """Without trailing zeros (0.1250 -> 0.125) or an exponent (5E+2 -> 500), at most
    `MAX_PLACES` decimals."""
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        return normalized.quantize(Decimal(1).scaleb(-MAX_PLACES), rounding=ROUND_HALF_EVEN)
    if isinstance(exponent, int) and exponent > 0:
        return normalized.quantize(Decimal(1))
    return normalized


def _spaced(text: str, symbol: str) -> str:
    """CLDR's currency spacing, which Babel leaves out: a sign made of letters ("RUB") is kept
    apart from the digits by a no-break space ("RUB 5.00", not "RUB5.00")."""
    if not symbol or not (symbol[0].isalpha() or symbol[-1].isalpha()):
        return text
    start = text.find(symbol)
    if start < 0:
        return text
    end = start + len(symbol)
    if end < len(text) and text[end].isdigit():
        text = text[:end] + _NBSP + text[end:]
    if start > 0 and text[start - 1].isdigit():
        text = text[:start] + _NBSP + text[start:]
    return text


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


def day(timestamp: float, *, locale: str | None = None) -> str:
    """The day something happened, short, in UTC: `30 Nov` (`30 нояб.`)."""
    when = datetime.fromtimestamp(timestamp, UTC)
    return format_datetime(when, "d MMM", locale=locale or current_locale())


def moment(timestamp: float, *, locale: str | None = None) -> str:
    """When an order was placed, in the locale's words, in UTC: `30 Nov 2026, 09:30 UTC`."""
    when = datetime.fromtimestamp(timestamp, UTC)
    return format_datetime(when, "d MMM y, HH:mm", locale=locale or current_locale()) + " UTC"


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
