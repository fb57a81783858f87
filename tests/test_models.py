"""Parsing the panel's loose shapes, from bodies shaped like the real API, and price math."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.catalog import builtin_catalog
from bot.smmlaba import PanelProtocolError, Price, Service, SmmLabaClient
from tests.conftest import CannedPanel

FIXTURES = Path(__file__).parent / "fixtures"


def body(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


async def test_loose_services_parse(
    canned_client: tuple[CannedPanel, SmmLabaClient], caplog: pytest.LogCaptureFixture
) -> None:
    stub, client = canned_client
    stub.reply(body("services_loose.json"))
    services = {s.id: s for s in await client.services()}

    # The service without an id is skipped with a warning; the other five survive, their ids
    # byte for byte (the panel may know " 401 " only as it listed it).
    assert list(services) == ["389", "vklikebest3", "instcustomcomments", " 401 ", "411"]
    assert any(r.levelno == logging.WARNING and "malformed" in r.message for r in caplog.records)

    likes = services["389"]
    assert likes.category_path == ("Instagram", "Likes")
    assert likes.params[0].valid.startswith("value need to consist of : https://www.instagram.com")
    assert likes.params[0].valid.endswith("and /p/")  # kept verbatim, double spaces and all
    assert likes.params[1].required is True

    vk = services["vklikebest3"]
    assert [p.required for p in vk.params] == [True, True, False]
    assert vk.params[2].values == ("any", "female", "male")

    comments = services["instcustomcomments"]
    assert comments.category_path == ("Instagram", "Comments")
    assert comments.price.amount == Decimal("2.50")
    assert comments.params[2].values == ("Russia",)  # a single string from an older client
    assert comments.params[2].required is False

    telegram = services[" 401 "]
    assert telegram.name == "Service 401"  # empty name gets a label
    assert telegram.price.amount is None
    assert telegram.price.text == "price on request"
    assert telegram.price.total(100) is None
    assert [p.param for p in telegram.params] == ["url", "speed"]  # PHP-style objects
    assert telegram.params[1].name == "speed"
    assert telegram.params[1].values == ("slow", "fast")

    assert services["411"].params == ()


async def test_check_with_every_field_a_string(
    canned_client: tuple[CannedPanel, SmmLabaClient],
) -> None:
    stub, client = canned_client
    stub.reply(body("check_strings.json"))
    status = await client.check("7000001")
    assert status.order_id == "7000001"
    assert status.status == "2"
    assert status.status_text == "В обработке"
    assert (status.count, status.remain, status.delivered) == (250, 100, 150)
    assert status.price == Decimal("0.1250")


async def test_check_with_numbers_and_blanks(
    canned_client: tuple[CannedPanel, SmmLabaClient],
) -> None:
    stub, client = canned_client
    stub.reply(body("check_numbers.json"))
    status = await client.check("7000002")
    assert status.order_id == "7000002"
    assert status.service == "421"
    assert status.status == "17"
    assert status.price == Decimal("0.9")
    assert status.count == 1000
    assert status.remain is None
    assert status.delivered is None


async def test_add_with_numbers(canned_client: tuple[CannedPanel, SmmLabaClient]) -> None:
    stub, client = canned_client
    stub.reply(body("add_numbers.json"))
    placed = await client.add("389", {"url": "https://instagram.com/p/x", "count": "250"})
    assert placed.order_id == "7000003"
    assert placed.price == Decimal("0.125")  # a JSON number, read without float rounding


async def test_balance_as_a_json_number_is_exact(
    canned_client: tuple[CannedPanel, SmmLabaClient],
) -> None:
    stub, client = canned_client
    stub.reply(body("balance_number.json"))
    assert await client.balance() == Decimal("1250.275")


async def test_a_byte_order_mark_is_tolerated(
    canned_client: tuple[CannedPanel, SmmLabaClient],
) -> None:
    stub, client = canned_client
    stub.reply("\ufeff" + '{"result":"success","error":"","message":{"balance":"3"}}')
    assert await client.balance() == Decimal(3)


@pytest.mark.parametrize(
    ("text", "amount", "per"),
    [
        ("0.0500 per 100", Decimal("0.0500"), 100),
        ("45.00 per 1000", Decimal("45.00"), 1000),
        ("0.35 per 1", Decimal("0.35"), 1),
        ("  2,5  per 10 ", Decimal("2.5"), 10),
        ("12 PER 1000", Decimal(12), 1000),
        ("9.90 RUB per 1000", Decimal("9.90"), 1000),
    ],
)
def test_prices_parse(text: str, amount: Decimal, per: int) -> None:
    price = Price.parse(text)
    assert (price.amount, price.per, price.text) == (amount, per, text)


@pytest.mark.parametrize("text", ["", "free", "per 100", "0.05 per 0", "0.05 / 100", "1e3 per 1"])
def test_unparseable_prices_keep_their_text(text: str) -> None:
    price = Price.parse(text)
    assert price.amount is None
    assert price.text == text
    assert price.total(10) is None


@pytest.mark.parametrize(
    ("price", "count", "total"),
    [
        ("0.0500 per 100", 250, "0.125"),
        ("0.0500 per 100", 10000, "5"),
        ("45.00 per 1000", 1, "0.045"),
        ("0.3500 per 1", 3, "1.05"),
        ("0.1 per 3", 3, "0.1"),
        ("9.00 per 1", 4000, "36000"),
    ],
)
def test_totals_are_exact_decimals(price: str, count: int, total: str) -> None:
    result = Price.parse(price).total(count)
    assert isinstance(result, Decimal)
    assert result == Decimal(total)


def test_float_arithmetic_would_have_been_wrong() -> None:
    """The reason money is Decimal: the float total of 0.1 x 3 is not 0.3."""
    assert 0.1 * 3 != 0.3
    assert Price.parse("0.1 per 1").total(3) == Decimal("0.3")


def test_a_service_round_trips_through_its_wire_shape() -> None:
    """The catalog cache stores services as the panel sent them and reads them back."""
    wire = {
        "category": "VK. Likes. ",
        "product_name": "VK Likes",
        "service": 431,
        "price": "140.00 per 1000",
        "params": [{"name": "Amount", "param": "count", "required": "1", "valid": "x"}],
    }
    service = Service.model_validate(wire)
    again = Service.model_validate(service.model_dump(by_alias=True))
    assert again == service
    assert service.model_dump(by_alias=True)["price"] == "140.00 per 1000"


# -- numbers beyond any sane size ----------------------------------------------------------

CHECK = {
    "orderid": "7000001",
    "status": "2",
    "statusText": "In progress",
    "count": "1000",
    "remain": "400",
    "price": "0.50",
}


def envelope(message: Any) -> str:
    return json.dumps({"result": "success", "error": "", "message": message})


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"remain": 1e20', "remain"),
        ('"remain": "100000000000000000000"', "remain"),
        ('"remain": 100000000000000000000', "remain"),
        ('"remain": "-1e20"', "remain"),
        ('"count": 1000000000000000000000000000000', "count"),
        ('"count": "1E+999999999999999999"', "count"),
        ('"price": "1e20"', "price"),
        ('"price": 1e-999999999', "price"),
    ],
)
async def test_an_absurd_number_in_check_is_a_protocol_error(
    canned_client: tuple[CannedPanel, SmmLabaClient], raw: str, field: str
) -> None:
    stub, client = canned_client
    # Spliced in as raw JSON, so a number stays a JSON number (1e20 is not a string).
    body = envelope({k: v for k, v in CHECK.items() if k != field})
    stub.reply(body.replace('"message": {', '"message": {' + raw + ", "))
    with pytest.raises(PanelProtocolError, match=field):
        await client.check("7000001")


async def test_numbers_up_to_the_bound_are_read(
    canned_client: tuple[CannedPanel, SmmLabaClient],
) -> None:
    stub, client = canned_client
    stub.reply(envelope({**CHECK, "count": "999999999999", "remain": 999_999_999_999}))
    status = await client.check("7000001")
    assert (status.count, status.remain) == (999_999_999_999, 999_999_999_999)


async def test_an_absurd_price_or_balance_is_refused(
    canned_client: tuple[CannedPanel, SmmLabaClient],
) -> None:
    stub, client = canned_client
    stub.reply(envelope({"orderid": "7000003", "price": "1" + "0" * 20}))
    with pytest.raises(PanelProtocolError, match="price"):
        await client.add("389", {"url": "https://instagram.com/p/x", "count": "250"})
    stub.reply('{"result": "success", "error": "", "message": {"balance": 1e20}}')
    with pytest.raises(PanelProtocolError, match="balance"):
        await client.balance()


@pytest.mark.parametrize(
    "price", ["99999999999999999999 per 1", "0.05 per 100000000000000000000", "1000000000000 per 1"]
)
async def test_a_service_with_an_absurd_price_is_skipped(
    canned_client: tuple[CannedPanel, SmmLabaClient],
    caplog: pytest.LogCaptureFixture,
    price: str,
) -> None:
    stub, client = canned_client
    catalog = builtin_catalog()[:3]
    catalog[0] = {**catalog[0], "price": price}
    stub.reply(envelope(catalog))
    services = await client.services()
    assert [s.id for s in services] == [str(w["service"]) for w in catalog[1:]]
    assert any("out of range" in r.getMessage() for r in caplog.records)


def test_an_absurd_price_is_malformed_not_on_request() -> None:
    with pytest.raises(ValueError, match="out of range"):
        Price.parse("99999999999999999999 per 1")
    assert Price.parse("999999999999 per 1").amount == Decimal(999_999_999_999)


async def test_names_are_decoded_once_and_ids_kept_byte_for_byte(
    canned_client: tuple[CannedPanel, SmmLabaClient],
) -> None:
    stub, client = canned_client
    entry = {
        "service": "fbpagelikeindia ",
        "category": "FaceBook.  Рейтинг &amp; отзывы. ",
        "product_name": "FaceBook - Кнопка &quot;Я рекомендую&quot;  &amp;lt;b&amp;gt; ",
        "price": "1.00 per 1000",
        "params": [{"param": "url", "name": "Ссылка &quot;на пост&quot;", "required": 1}],
    }
    stub.reply(envelope([entry]))
    [service] = await client.services()
    assert service.id == "fbpagelikeindia "
    assert service.name == 'FaceBook - Кнопка "Я рекомендую" &lt;b&gt;'
    assert service.category_path == ("FaceBook", "Рейтинг & отзывы")
    assert service.params[0].name == 'Ссылка "на пост"'

    # The cache writes the wire shape and reads it back: the same text, not decoded twice.
    cached = Service.model_validate(service.model_dump(mode="json", by_alias=True))
    assert cached == service

    stub.reply(
        envelope({"orderid": " 7000001", "name": "A &quot;B&quot;", "statusText": "x &amp; y"})
    )
    status = await client.check(" 7000001")
    assert (status.order_id, status.name, status.status_text) == (" 7000001", 'A "B"', "x & y")
