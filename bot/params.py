"""What `add` needs for a service, as fields a person fills in: a service's `params` with their
`valid` rules read into checks, and `values` into choices.

Two rule forms are documented: "number from A to B" and "value need to consist of : X and Y
or Z and W" (every fragment of at least one alternative). Anything else is shown to the person
as a hint and left to the panel to judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from aiogram.utils.i18n import gettext as _

from bot.formatting import number
from bot.smmlaba import Service, ServiceParam

_NUMBER_RULE = re.compile(r"number\s+from\s+(-?\d+)\s+to\s+(-?\d+)", re.IGNORECASE)
_CONSIST_RULE = re.compile(r"consist\s+of\s*:?\s*(.+)", re.IGNORECASE | re.DOTALL)
_MULTILINE_HINTS = ("comment", "line", "строк", "коммент", "каждый с новой")
# Telegram shows a message of up to 4096 characters; a value has to fit in one.
MAX_VALUE_LENGTH = 4000


class FieldKind(StrEnum):
    CHOICE = "choice"
    NUMBER = "number"
    FRAGMENTS = "fragments"
    TEXT = "text"


class InvalidValue(ValueError):
    """Why a typed value cannot be sent; the message is for the person, in their language
    (checks run inside a handler, where the person's locale is set)."""


@dataclass(frozen=True)
class FieldSpec:
    param: str
    label: str
    required: bool
    kind: FieldKind
    rule: str  # the panel's own words
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    alternatives: tuple[tuple[str, ...], ...] = ()
    multiline: bool = False

    @classmethod
    def from_param(cls, param: ServiceParam) -> FieldSpec:
        label, rule = param.name.strip() or param.param, param.valid.strip()

        def make(kind: FieldKind, **details: object) -> FieldSpec:
            return cls(param.param, label, param.required, kind, rule, **details)  # type: ignore[arg-type]

        if param.values:
            return make(FieldKind.CHOICE, choices=param.values)
        if match := _NUMBER_RULE.search(rule):
            low, high = sorted((int(match[1]), int(match[2])))
            return make(FieldKind.NUMBER, low=low, high=high)
        if match := _CONSIST_RULE.search(rule):
            alternatives = tuple(
                fragments
                for alternative in re.split(r"\s+or\s+", match[1].strip(), flags=re.IGNORECASE)
                if (fragments := tuple(f.strip() for f in re.split(r"\s+and\s+", alternative)))
                and all(fragments)
            )
            if alternatives:
                return make(FieldKind.FRAGMENTS, alternatives=alternatives)
        hints = f"{param.param} {param.name} {rule}".casefold()
        return make(FieldKind.TEXT, multiline=any(hint in hints for hint in _MULTILINE_HINTS))

    @property
    def is_quantity(self) -> bool:
        return self.param == "count" and self.kind is FieldKind.NUMBER

    def check(self, text: str) -> str:
        """The value to send for what the person typed, or `InvalidValue` saying what is
        wrong and what would be right."""
        value = text if self.multiline else text.strip()
        if not value.strip():
            raise InvalidValue(_("{label} can't be empty.").format(label=self.label))
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidValue(
                _("{label} is too long (at most {limit} characters).").format(
                    label=self.label, limit=number(MAX_VALUE_LENGTH)
                )
            )
        if self.kind is FieldKind.CHOICE:
            for choice in self.choices:
                if choice.casefold() == value.casefold():
                    return choice
            raise InvalidValue(
                _("Please choose one of: {choices}.").format(choices=", ".join(self.choices))
            )
        if self.kind is FieldKind.NUMBER:
            low, high = self.low or 0, self.high or 0
            # "10000", "10,000" and "10 000" are the same number; "1,5" is not a whole one.
            if re.fullmatch(r"[0-9]{1,3}(?:[ ,\u00a0][0-9]{3})+|[0-9]+", value):
                amount = int(re.sub(r"[ ,\u00a0]", "", value))
                if low <= amount <= high:
                    return str(amount)
            raise InvalidValue(
                _("{label} must be a whole number from {low} to {high}.").format(
                    label=self.label, low=number(low), high=number(high)
                )
            )
        if self.kind is FieldKind.FRAGMENTS:
            if any(all(f.casefold() in value.casefold() for f in alt) for alt in self.alternatives):
                return value
            raise InvalidValue(
                _("{label} must contain {parts}.").format(
                    label=self.label, parts=self.describe_fragments()
                )
            )
        return value.strip("\n") if self.multiline else value

    def describe_fragments(self) -> str:
        return " or ".join(" and ".join(alt) for alt in self.alternatives)


def fields_of(service: Service) -> list[FieldSpec]:
    return [FieldSpec.from_param(param) for param in service.params]


def amount_range(service: Service) -> tuple[int, int] | None:
    for spec in fields_of(service):
        if spec.is_quantity and spec.low is not None and spec.high is not None:
            return spec.low, spec.high
    return None


def quantity(service: Service, values: dict[str, str]) -> int | None:
    """How many units the order buys: its `count`, or one per line of a multi-line field."""
    specs = fields_of(service)
    for spec in specs:
        if spec.is_quantity and values.get(spec.param, "").isdigit():
            return int(values[spec.param])
    for spec in specs:
        if spec.multiline and values.get(spec.param):
            return len([line for line in values[spec.param].splitlines() if line.strip()])
    return None


def total(service: Service, values: dict[str, str]) -> Decimal | None:
    units = quantity(service, values)
    return None if units is None else service.price.total(units)
