"""Who is asking: Telegram's `initData`, checked as Telegram documents it (an HMAC-SHA256 of
the fields, keyed by the bot's token), and refused when older than allowed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiogram.utils.web_app import safe_parse_webapp_init_data


class NotSigned(Exception):
    """Missing, forged or stale `initData`: the request gets 401 and no data."""


@dataclass(frozen=True, slots=True)
class Person:
    """Who Telegram says opened the page."""

    id: int
    first_name: str
    language_code: str | None


def person_from(
    init_data: str, *, bot_token: str, max_age: float, now: float | None = None
) -> Person:
    """The person Telegram vouches for, or `NotSigned` saying why not."""
    if not init_data:
        raise NotSigned("no initData")
    try:
        parsed = safe_parse_webapp_init_data(bot_token, init_data)
    except ValueError:
        raise NotSigned("initData is not signed by Telegram for this bot") from None
    age = (time.time() if now is None else now) - parsed.auth_date.timestamp()
    if age > max_age:
        raise NotSigned(f"initData is {int(age)} s old, more than {int(max_age)} s")
    if parsed.user is None:
        raise NotSigned("initData names no user")
    user = parsed.user
    return Person(user.id, user.first_name, user.language_code)
