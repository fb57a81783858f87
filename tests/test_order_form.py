"""The order wizard's logic on its own: no Telegram, no panel, no database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.i18n import build_i18n
from bot.order_form import Next, OrderForm, Problem, TermsChange, WizardData
from bot.params import InvalidValue
from bot.smmlaba import Service


def likes(price: str = "0.50 per 1000", high: int = 10_000) -> Service:
    return Service.model_validate(
        {
            "service": "instlikes",
            "category": "Instagram. Likes. ",
            "product_name": "Instagram Likes",
            "price": price,
            "params": [
                {"name": "Post link", "param": "url", "required": 1,
                 "valid": "value need to consist of : instagram.com and /p/"},
                {"name": "Amount", "param": "count", "required": 1,
                 "valid": f"number from 50 to {high}"},
                {"name": "Speed", "param": "speed", "required": 0, "values": ["slow", "fast"]},
                {"name": "Note", "param": "note", "required": 0, "valid": ""},
            ],
        }
    )  # fmt: skip


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Refusals are worded for the person: checks need a language, as in a handler."""
    i18n = build_i18n()
    with i18n.context(), i18n.use_locale("en"):
        yield


def filled(**values: Any) -> OrderForm:
    return OrderForm.new(likes(), {k: str(v) for k, v in values.items()})


def test_answers_lead_field_by_field_to_the_confirmation() -> None:
    form = OrderForm.new(likes())
    assert form.spec.param == "url"
    with pytest.raises(InvalidValue):
        form.enter("https://example.com/p/1")
    assert form.data.values == {}
    assert form.enter(" https://instagram.com/p/1 ") == "https://instagram.com/p/1"
    assert form.advance() is Next.PROMPT
    with pytest.raises(InvalidValue, match=r"^10 is below the minimum of 50\.$"):
        form.enter("10")
    form.enter("100")
    assert form.advance() is Next.PROMPT
    assert form.spec.param == "speed"
    assert not form.pick(2)  # no third option: an old or forged button
    assert form.pick(1)
    assert form.advance() is Next.PROMPT
    assert form.last_question
    assert form.skip()  # optional
    assert form.advance() is Next.REVIEW
    assert form.data.values == {"url": "https://instagram.com/p/1", "count": "100", "speed": "fast"}


def test_back_steps_to_the_previous_field_then_out_to_the_card() -> None:
    form = filled()
    form.enter("https://instagram.com/p/1")
    form.advance()
    assert form.back() is Next.PROMPT
    assert form.data.step == 0
    assert form.back() is Next.CARD


def test_skip_and_keep_fit_only_where_they_mean_something() -> None:
    form = filled()
    assert not form.skip()  # the link is required
    assert not form.keep()  # nothing to keep yet
    form.enter("https://instagram.com/p/1")
    assert form.keep()


def test_the_confirmation_gets_a_new_token_and_notes_the_terms() -> None:
    form = filled(url="https://instagram.com/p/1", count=100)
    first = form.open_review()
    assert isinstance(first, str)
    assert form.data.token == first
    assert not form.terms_changed()
    second = form.open_review()
    assert second != first  # each confirmation shown is its own


def test_the_confirmation_sends_back_to_a_missing_or_invalid_value() -> None:
    form = filled(url="https://instagram.com/p/1")
    assert form.open_review() == Problem("")
    assert form.spec.param == "count"
    form = filled(url="https://instagram.com/p/1", count=20_000)
    assert form.open_review() == Problem("20,000 is above the maximum of 10,000.")
    assert form.data.token is None


def test_the_confirmation_shows_each_value_as_it_will_be_sent() -> None:
    # Order again with values saved before links were tidied: tidied now, shown, then sent.
    form = filled(url=" instagram.com/p/1?igsh=x ", count="1 000")
    assert isinstance(form.open_review(), str)
    assert form.data.values == {"url": "https://instagram.com/p/1", "count": "1000"}


def test_editing_one_value_returns_to_the_confirmation() -> None:
    form = filled(url="https://instagram.com/p/1", count=100)
    form.open_review()
    form.change()
    assert form.data.token is None  # Confirm on the old screen no longer counts
    assert not form.edit(4)
    assert form.edit(1)
    assert form.last_question
    form.enter("200")
    assert form.advance() is Next.REVIEW
    assert form.back() is Next.REVIEW  # Back while editing: the confirmation again


def test_a_refusal_names_the_field_to_fix_when_it_can() -> None:
    form = filled(url="https://instagram.com/p/1", count=100)
    form.refused_by_panel("Неверное значение param: count")
    assert form.refused_index() == 1
    form.refused_by_panel("Wrong post link")
    assert form.refused_index() == 0
    form.refused_by_panel("Недостаточно средств")
    assert form.refused_index() is None


def test_what_changed_since_the_confirmation() -> None:
    form = filled(url="https://instagram.com/p/1", count=100)
    form.open_review()
    assert form.what_changed() == TermsChange(price=None, rules=False)

    dearer = OrderForm(likes(price="0.90 per 1000"), form.data)
    assert dearer.terms_changed()
    assert dearer.what_changed() == TermsChange(
        price=("0.50 per 1000", "0.90 per 1000"), rules=False
    )
    stricter = OrderForm(likes(high=5_000), form.data)
    assert stricter.what_changed() == TermsChange(price=None, rules=True)


def test_a_step_past_the_fields_a_service_still_has_is_its_last_field() -> None:
    form = OrderForm(likes(), WizardData(service="instlikes", step=9))
    assert form.spec.param == "note"  # the service lost fields since that step was saved
