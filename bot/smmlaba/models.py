"""Typed shapes of the panel's answers, lenient where the API is loose.

The panel sends numbers as strings or numbers, ids as integers or string codes, `required` as
1/"1"/0/"0", `values` as a list or a single string, and names HTML-escaped. Everything is
normalised here, at the edge, so the rest of the bot sees one shape: ids are opaque strings
kept byte for byte, names are plain text, and money is Decimal.
"""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

_PRICE = re.compile(
    r"^\s*(?P<amount>\d+(?:[.,]\d+)?)\s*(?:[^\W\d_]{1,5}\s*)?per\s*(?P<per>\d+)\s*$",
    re.IGNORECASE,
)

# No real count, amount or balance comes near a trillion (or needs 30 decimal places): past that
# an answer is broken. Far inside SQLite's INTEGER (2**63 - 1), exact as a float (< 2**53).
MAX_NUMBER = 10**12
MAX_PLACES = 30


def to_decimal(value: Any) -> Decimal:
    """A decimal from a number or a string such as "123.45", " 1 250,5 " or 12.5, refused
    when its magnitude is absurd (see `MAX_NUMBER`) or it has absurdly many decimal places."""
    if isinstance(value, bool):
        raise ValueError("a flag is not an amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{_short(value)} is not a number") from None
    else:
        raise ValueError(f"{type(value).__name__} is not a number")
    if not result.is_finite():
        raise ValueError(f"{_short(value)} is not a finite number")
    # copy_abs() and as_tuple() are exact: arithmetic on 1e999999999 would itself overflow.
    if result.copy_abs() >= MAX_NUMBER:
        raise ValueError(f"{_short(value)} is out of range")
    exponent = result.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        raise ValueError(f"{_short(value)} has too many decimal places")
    return result


def _short(value: Any) -> str:
    """A value for an error message: a million digits stay out of the log."""
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _optional_decimal(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return to_decimal(value)


def _optional_int(value: Any) -> int | None:
    """A whole number below `MAX_NUMBER` in magnitude, or None for a blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = to_decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"{_short(value)} is not a whole number")
    return int(number)


def _opaque_id(value: Any) -> str:
    """The id byte for byte: the panel lists ids with trailing spaces and mixed scripts, and
    may know only the exact string it listed."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("an id must be a number or a string")
    text = str(value)
    if not text.strip():
        raise ValueError("an id must not be empty")
    return text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int, Decimal, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{type(value).__name__} is not text")


def _label(value: Any) -> str:
    """Words the panel wrote for people: it HTML-escapes them (`&quot;`), so entities are
    decoded once here, and runs of spaces are collapsed. Shown text is escaped once again."""
    return " ".join(html.unescape(_text(value)).split())


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if value is not None else ""
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no", ""):
        return False
    raise ValueError(f"{value!r} is not 1 or 0")


def _choices(value: Any) -> tuple[str, ...] | None:
    """`values` arrive as a JSON list, a PHP-style object, or one string (older clients)."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                value = [text]
        else:
            value = re.split(r"\s*[\n;|]\s*", text)
    if isinstance(value, (list, tuple)):
        items = tuple(_text(item).strip() for item in value)
        return tuple(item for item in items if item) or None
    return (_text(value),)


OpaqueId = Annotated[str, BeforeValidator(_opaque_id)]
Text = Annotated[str, BeforeValidator(_text)]
# Escaped again when written in the wire shape (the catalog cache), so reading it back decodes
# the same text rather than decoding twice.
Label = Annotated[
    str, BeforeValidator(_label), PlainSerializer(lambda text: html.escape(text, quote=False))
]
Money = Annotated[Decimal | None, BeforeValidator(_optional_decimal)]
Count = Annotated[int | None, BeforeValidator(_optional_int)]


class Price(BaseModel):
    """ "0.0500 per 100": `amount` buys `per` units. `text` is always what the panel wrote."""

    model_config = ConfigDict(frozen=True)

    text: str
    amount: Decimal | None = None
    per: int | None = None

    @classmethod
    def parse(cls, text: str) -> Price:
        """A price from the panel's text; one it can't read is kept as text (price on
        request), one with an absurd number raises ValueError like any malformed value."""
        match = _PRICE.match(text)
        if match is None:
            return cls(text=text)
        # Out of range is a broken answer (ValueError), not a price on request.
        amount = to_decimal(match["amount"])
        per = to_decimal(match["per"])
        if per == 0:
            return cls(text=text)
        return cls(text=text, amount=amount, per=int(per))

    def total(self, count: int) -> Decimal | None:
        """The exact price of `count` units, or None when the price did not parse."""
        if self.amount is None or self.per is None:
            return None
        return self.amount * count / self.per


def _price(value: Any) -> Any:
    if isinstance(value, Price):
        return value
    return Price.parse(_text(value))


PriceField = Annotated[Price, BeforeValidator(_price), PlainSerializer(lambda p: p.text)]


class _WireModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class ServiceParam(_WireModel):
    """One field `add` needs: `param` is the form field, `name` the label for a person."""

    name: Label = ""
    param: Annotated[str, BeforeValidator(_opaque_id)]
    required: Annotated[bool, BeforeValidator(_flag)] = False
    valid: Text = ""
    values: Annotated[tuple[str, ...] | None, BeforeValidator(_choices)] = None

    @model_validator(mode="after")
    def _label(self) -> ServiceParam:
        if not self.name.strip():
            object.__setattr__(self, "name", self.param)
        return self


def _params(value: Any) -> Any:
    if value is None or value == "":
        return []
    if isinstance(value, dict):
        return list(value.values())
    return value


class Service(_WireModel):
    id: OpaqueId = Field(alias="service")
    category: Label = ""
    name: Label = Field("", alias="product_name")
    price: PriceField = Price(text="")
    params: Annotated[tuple[ServiceParam, ...], BeforeValidator(_params)] = ()

    @model_validator(mode="after")
    def _label(self) -> Service:
        if not self.name.strip():
            object.__setattr__(self, "name", f"Service {self.id.strip()}")
        return self

    @property
    def category_path(self) -> tuple[str, ...]:
        """ "Instagram. Likes. " -> ("Instagram", "Likes")."""
        return tuple(part.strip() for part in self.category.split(".") if part.strip())


class PlacedOrder(_WireModel):
    order_id: OpaqueId = Field(alias="orderid")
    price: Money = None


class OrderStatus(_WireModel):
    order_id: OpaqueId = Field(alias="orderid")
    name: Label = ""
    service: Text = ""
    price: Money = None
    status: Text = ""
    status_text: Label = Field("", alias="statusText")
    url: Text = ""
    count: Count = None
    remain: Count = None

    @property
    def delivered(self) -> int | None:
        return delivered(self.count, self.remain)


def delivered(count: int | None, remain: int | None) -> int | None:
    """How many of `count` were delivered while `remain` are left: between 0 and `count`, or
    None when the panel did not say both."""
    if count is None or remain is None:
        return None
    return max(0, min(count, count - remain))
