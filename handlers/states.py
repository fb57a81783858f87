"""Conversation states. Everything else a screen needs travels in callback data."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class OrderWizard(StatesGroup):
    entering = State()  # typing or choosing the value of field `step`
    confirming = State()  # looking at the confirmation, or at the panel's refusal


class SearchWizard(StatesGroup):
    query = State()


class ConnectForm(StatesGroup):
    email = State()
    api_key = State()  # the e-mail is in the data; the key never is


class SettleOrder(StatesGroup):
    panel_id = State()  # the order being settled is in the data


class TrackOrder(StatesGroup):
    panel_id = State()  # waiting for the number of an order placed on the website


class LowBalance(StatesGroup):
    amount = State()  # the amount under which the balance is worth a warning


class SeveralLinksForm(StatesGroup):
    links = State()  # waiting for the lines
    amount = State()  # waiting for the amount for the lines without their own
    confirming = State()
