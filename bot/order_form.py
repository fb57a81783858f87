"""The order wizard's logic, without Telegram: which field is asked, what each button does to
the values, when the confirmation comes, and what a confirmation promised.

`WizardData` is what the conversation store keeps between updates; `OrderForm` applies one
step to it and says which screen comes next; `handlers/wizard.py` shows that screen.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel

from bot.params import FieldKind, FieldSpec, InvalidValue, fields_of, most_affordable
from bot.smmlaba import Service


class WizardData(BaseModel):
    """What the wizard remembers between updates (stored as JSON in the FSM)."""

    service: str
    values: dict[str, str] = {}
    step: int = 0
    live: int | None = None  # the message whose buttons are current
    token: str | None = None  # of the confirmation on screen
    editing: bool = False  # changing one value from the confirmation
    refused: str | None = None  # the field the panel complained about
    terms: str | None = None  # the service's price and rules as the confirmation showed them
    found_by: str = ""  # the search the service's card was opened from, for Back to it


class Next(StrEnum):
    """The screen a step leads to."""

    PROMPT = "prompt"  # the field at `data.step`
    REVIEW = "review"  # the confirmation
    CARD = "card"  # out of the wizard, back to the service's card


@dataclass(frozen=True)
class Problem:
    """A value the confirmation can't show: missing ("") or no longer valid (why)."""

    reason: str


@dataclass(frozen=True)
class TermsChange:
    """How a service differs from what a confirmation showed."""

    price: tuple[str, str] | None  # (was, now), when the price changed
    rules: bool  # the fields or their rules changed


def service_terms(service: Service) -> str:
    """Everything about a service that decides what an order costs and what is sent."""
    return service.model_dump_json(include={"id", "price", "params"})


@dataclass
class OrderForm:
    """One order in progress: the service's fields and the values given so far."""

    service: Service
    data: WizardData
    fields: list[FieldSpec] = field(init=False)

    def __post_init__(self) -> None:
        self.fields = fields_of(self.service)
        # The service may have lost fields since the last step (a catalog refresh).
        self.data.step = max(0, min(self.data.step, len(self.fields) - 1))

    @classmethod
    def new(
        cls, service: Service, values: dict[str, str] | None = None, *, found_by: str = ""
    ) -> OrderForm:
        data = WizardData(service=service.id, values=dict(values or {}), found_by=found_by)
        return cls(service, data)

    @property
    def spec(self) -> FieldSpec:
        """The field being asked for."""
        return self.fields[self.data.step]

    @property
    def last_question(self) -> bool:
        """The answer to this prompt leads to the confirmation."""
        return self.data.editing or self.data.step == len(self.fields) - 1

    # -- the prompt's buttons and answers --------------------------------------------------

    def back(self) -> Next:
        if self.data.editing:
            return Next.REVIEW
        if self.data.step > 0:
            self.data.step -= 1
            return Next.PROMPT
        return Next.CARD

    def pick(self, index: int) -> bool:
        """Choose option `index`; False if this prompt has no such option (an old button)."""
        spec = self.spec
        if spec.kind is not FieldKind.CHOICE or not 0 <= index < len(spec.choices):
            return False
        self.data.values[spec.param] = spec.choices[index]
        return True

    def preset(self, amount: int) -> bool:
        """Take an amount offered as a button; False if this prompt offers no such amount."""
        if amount not in self.spec.presets:
            return False
        self.data.values[self.spec.param] = str(amount)
        return True

    def afford(self, funds: Decimal) -> bool:
        """Set the quantity to the largest that `funds` pay for; False if there is none."""
        affordable = most_affordable(self.service, self.data.values, funds)
        if affordable is None:
            return False
        param, amount = affordable
        self.data.values[param] = str(amount)
        return True

    def skip(self) -> bool:
        if self.spec.required:
            return False
        self.data.values.pop(self.spec.param, None)
        return True

    def keep(self) -> bool:
        return self.spec.param in self.data.values

    def enter(self, text: str) -> str:
        """Take a typed value for the field asked; raises `InvalidValue` with the reason."""
        value = self.spec.check(text)
        self.data.values[self.spec.param] = value
        return value

    def advance(self) -> Next:
        """After an answer: the next field, or after the last one (or the one value being
        changed) the confirmation."""
        if not self.data.editing and self.data.step + 1 < len(self.fields):
            self.data.step += 1
            return Next.PROMPT
        return Next.REVIEW

    # -- the confirmation ------------------------------------------------------------------

    def open_review(self) -> str | Problem:
        """Ready the confirmation: returns its new token (the terms it shows are noted).
        When a value is missing or no longer valid, moves to that field and returns why."""
        data = self.data
        data.editing = False
        for index, spec in enumerate(self.fields):
            value = data.values.get(spec.param)
            if value is None:
                if not spec.required:
                    continue
                data.step = index
                return Problem("")
            try:
                # The confirmation shows what is sent: the value as checked (a link from an
                # older order, ordered again, is tidied now).
                data.values[spec.param] = spec.check(value)
            except InvalidValue as problem:
                data.step = index
                return Problem(str(problem))
        data.token = secrets.token_urlsafe(12)
        data.terms = service_terms(self.service)
        return data.token

    def change(self) -> None:
        """Leave the confirmation for the list of values: its Confirm no longer counts."""
        self.data.token = None

    def edit(self, index: int) -> bool:
        """Change value `index` alone, then back to the confirmation."""
        if not 0 <= index < len(self.fields):
            return False
        self.data.step, self.data.editing, self.data.token = index, True, None
        return True

    def refused_index(self) -> int | None:
        """The field the panel's last refusal named, if it named one."""
        return next(
            (i for i, spec in enumerate(self.fields) if spec.param == self.data.refused), None
        )

    def refused_by_panel(self, refusal: str) -> None:
        """The panel refused the order: remember the field its words name, if any."""
        self.data.token = None
        text = refusal.casefold()
        self.data.refused = next(
            (
                spec.param
                for spec in self.fields
                if spec.panel_label.casefold() in text or f"param: {spec.param}".casefold() in text
            ),
            None,
        )

    def terms_changed(self) -> bool:
        """The service is not what the confirmation showed: Confirm must place nothing."""
        return self.data.terms != service_terms(self.service)

    def what_changed(self) -> TermsChange:
        """How the service differs from what the confirmation showed."""
        was = json.loads(self.data.terms) if self.data.terms else {}
        now = json.loads(service_terms(self.service))
        price = None
        if was.get("price") != now["price"]:
            price = (str(was.get("price") or "?"), str(now["price"] or "?"))
        return TermsChange(price=price, rules=was.get("params") != now["params"])
