"""Numbers and money as people read them: the locale's grouping and decimal mark, the
currency's sign, exact amounts, balances never overstated, one unit per kind of service."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.formatting import balance, current_locale, money, number
from bot.smmlaba import Service
from handlers import keyboards

NBSP = "\u00a0"


def nb(text: str) -> str:
    """Expected text written with plain spaces; Babel puts no-break spaces there."""
    return text.replace(" ", NBSP)


@pytest.mark.parametrize(
    ("value", "en", "ru"),
    [
        (10000, "10,000", "10 000"),
        (5, "5", "5"),
        (1234567, "1,234,567", "1 234 567"),
        (Decimal("2.50"), "2.5", "2,5"),
        (None, "?", "?"),
    ],
)
def test_numbers_are_grouped_as_the_locale_groups_them(
    value: int | Decimal | None, en: str, ru: str
) -> None:
    assert number(value, locale="en") == en
    assert number(value, locale="ru") == nb(ru)


@pytest.mark.parametrize(
    ("value", "en", "ru"),
    [
        ("4900", "RUB 4,900.00", "4 900,00 ₽"),
        ("500", "RUB 500.00", "500,00 ₽"),
        ("0.125", "RUB 0.125", "0,125 ₽"),  # the exact amount needs its third decimal
        ("0.1250", "RUB 0.125", "0,125 ₽"),  # trailing zeros past two decimals go
        ("4999.875", "RUB 4,999.875", "4 999,875 ₽"),
        ("5E+2", "RUB 500.00", "500,00 ₽"),
        ("0.1", "RUB 0.10", "0,10 ₽"),
        ("-3.5", "-RUB 3.50", "-3,50 ₽"),
        # A division that never ends is cut at six decimals, not shown with 28.
        (str(Decimal(1) / 60), "RUB 0.016667", "0,016667 ₽"),
    ],
)
def test_money_has_two_decimals_and_more_only_when_exact_needs_them(
    value: str, en: str, ru: str
) -> None:
    assert money(Decimal(value), "RUB", locale="en") == nb(en)
    assert money(Decimal(value), "RUB", locale="ru") == nb(ru)


def test_the_sign_is_the_one_the_locale_knows_for_the_code() -> None:
    assert money(Decimal(1), "USD", locale="en") == "$1.00"
    assert money(Decimal(1), "USD", locale="ru") == nb("1,00 $")
    assert money(Decimal(1), "EUR", locale="ru") == nb("1,00 €")
    # A code Babel does not know is shown as written, apart from the digits.
    assert money(Decimal(1), "USDT", locale="en") == nb("USDT 1.00")
    # Without a currency: just the amount.
    assert money(Decimal("0.5"), locale="en") == "0.50"
    assert money(Decimal("0.5"), locale="ru") == "0,50"


@pytest.mark.parametrize(
    ("value", "en", "ru"),
    [
        ("2638.3745", "RUB 2,638.37", "2 638,37 ₽"),
        ("2638.375", "RUB 2,638.37", "2 638,37 ₽"),  # half-even would say .38
        ("2638.379", "RUB 2,638.37", "2 638,37 ₽"),
        ("99.875", "RUB 99.87", "99,87 ₽"),
        ("1000", "RUB 1,000.00", "1 000,00 ₽"),
        ("-0.125", "-RUB 0.13", "-0,13 ₽"),  # a debt is not shown smaller than it is
    ],
)
def test_a_balance_is_rounded_down_never_overstated(value: str, en: str, ru: str) -> None:
    assert balance(Decimal(value), "RUB", locale="en") == nb(en)
    assert balance(Decimal(value), "RUB", locale="ru") == nb(ru)


def test_the_locale_comes_from_the_i18n_context_and_is_english_outside_it() -> None:
    assert current_locale() == "en"
    assert number(10000) == "10,000"


def _service(price: str, *params: dict[str, str]) -> Service:
    return Service.model_validate(
        {"service": "1", "product_name": "X", "price": price, "params": list(params)}
    )


COUNT = {"param": "count", "name": "Amount", "valid": "number from 10 to 1000"}
LINK = {"param": "url", "name": "Link"}
COMMENTS = {"param": "comments", "name": "Comments", "valid": "each comment on a new line"}


def test_services_by_count_are_priced_per_thousand_and_comments_per_item() -> None:
    per_hundred = keyboards.unit_price(_service("0.0500 per 100", LINK, COUNT))
    assert per_hundred == keyboards.UnitPrice(Decimal("0.5"), by_count=True)
    per_one = keyboards.unit_price(_service("0.0500 per 1", LINK, COUNT))
    assert per_one == keyboards.UnitPrice(Decimal("50"), by_count=True)
    comments = keyboards.unit_price(_service("2.5000 per 1", LINK, COMMENTS))
    assert comments == keyboards.UnitPrice(Decimal("2.5"), by_count=False)
    comments_by_ten = keyboards.unit_price(_service("25 per 10", LINK, COMMENTS))
    assert comments_by_ten == keyboards.UnitPrice(Decimal("2.5"), by_count=False)
    assert keyboards.unit_price(_service("on request", LINK, COUNT)) is None


def test_cheapest_first_keeps_kinds_apart_and_unpriced_services_last() -> None:
    def named(name: str, price: str, *params: dict[str, str]) -> Service:
        return _service(price, *params).model_copy(update={"name": name})

    services = [
        named("dear", "45.00 per 1000", LINK, COUNT),
        named("ask", "on request", LINK, COUNT),
        named("comments", "0.10 per 1", LINK, COMMENTS),
        named("cheap", "0.0500 per 100", LINK, COUNT),
        named("cheap too", "0.50 per 1000", LINK, COUNT),
    ]
    assert [s.name for s in keyboards.by_price(services)] == [
        "cheap",
        "cheap too",
        "dear",
        "comments",
        "ask",
    ]
