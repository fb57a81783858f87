"""Every button's callback data, in one place. Keys are short (Telegram allows 64 bytes) and
resolve through the catalog or the database; what no longer resolves is a stale button."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Data from a button can be forged. Every number is bounded, so "oc:<30 digits>" fails to unpack
# (aiogram validates the model: the filter doesn't match, and the button is a stale one) instead
# of reaching SQLite, whose INTEGER stops at 2**63 - 1. No real id, page or index gets near.
Number = Annotated[int, Field(ge=0, le=10**12)]


class Menu(CallbackData, prefix="m"):
    """Main-menu destinations: home, new, orders, search, balance, settings, language, help."""

    to: str


class Platforms(CallbackData, prefix="pl"):
    page: Number = 0


class PlatformPage(CallbackData, prefix="p"):
    platform: str
    page: Number = 0


class CategoryPage(CallbackData, prefix="c"):
    platform: str
    category: str
    page: Number = 0


class CategoryByPrice(CallbackData, prefix="cs"):
    """A category's services cheapest first: its own prefix, so that buttons sent before the
    toggle existed ("c:…") still open."""

    platform: str
    category: str
    page: Number = 0


class ServiceCard(CallbackData, prefix="s"):
    service: str


class SearchHit(CallbackData, prefix="sh"):
    """A service in search results. `query` is the search's words (see `search_words`): the
    card's Back shows the same results again, with no state kept anywhere."""

    service: str
    query: str


class SearchResults(CallbackData, prefix="sr"):
    query: str


# What a hit's button has left for the words beside a service key (16 hex digits): Telegram
# allows 64 bytes of callback data.
SEARCH_BYTES = 64 - len("sh::") - 16


def search_words(words: Iterable[str]) -> str:
    """A search's words as its buttons carry them: case-folded, as many whole words as fit in
    `SEARCH_BYTES` (the search folds case anyway; a longer query comes back shorter)."""
    kept = ""
    for word in words:
        longer = f"{kept} {word.casefold()}" if kept else word.casefold()
        if len(longer.encode()) > SEARCH_BYTES:
            break
        kept = longer
    return kept


class SeveralLinks(CallbackData, prefix="sl"):
    """ "Several links" on a service's card."""

    service: str


class SeveralStep(CallbackData, prefix="sv"):
    """A button of the several-links form: `amount` (preset `value`), `tell` (switch how the
    orders' ends are told), `cancel`."""

    action: str
    value: Number = 0


class SeveralConfirm(CallbackData, prefix="sc"):
    token: str


class Favourite(CallbackData, prefix="fv"):
    """⭐ on a service's card (`on`: star it, else unstar it); from the Favourites list
    (`listed`), unstarring a service that left the catalog."""

    service: str
    on: bool
    listed: bool = False


class OrderService(CallbackData, prefix="o"):
    """ "Order this" on a service's card; `found_by`, the search it was found by (Back from
    the first question returns to a card whose Back returns to the results)."""

    service: str
    found_by: str = ""


class StepAction(StrEnum):
    BACK = "back"
    CANCEL = "cancel"
    PICK = "pick"  # option `index` of a choice
    PRESET = "preset"  # the amount `index`, offered as a button
    SKIP = "skip"  # an optional field
    KEEP = "keep"  # the current value
    CHANGE = "change"  # from the confirmation: which value?
    FIELD = "field"  # change value `index`
    FIX = "fix"  # the value the panel refused
    REVIEW = "review"  # back to the confirmation
    AFFORD = "afford"  # the largest amount the balance pays for
    RECHECK = "recheck"  # the confirmation again, with the balance asked anew (topped up)


class Step(CallbackData, prefix="w"):
    """A button of the order wizard; each action has its own handler."""

    action: StepAction
    index: Number = 0


class Confirm(CallbackData, prefix="ok"):
    token: str


class OrdersPage(CallbackData, prefix="ol"):
    page: Number = 0


class OrderCard(CallbackData, prefix="oc"):
    """`action`: show, refresh, again, mute, unmute."""

    order: Number
    action: str = "show"


class Noop(CallbackData, prefix="n"):
    """A label that only shows something, like the page counter."""


class NotifySetting(CallbackData, prefix="ns"):
    """`mode`: all (every change) or final (completion and failures)."""

    mode: str


class LanguageChoice(CallbackData, prefix="lang"):
    """`code`: a locale such as "ru", or "auto" to follow Telegram's language."""

    code: str


class Link(CallbackData, prefix="ln"):
    """Linking one's own panel account: connect, email (start over with another e-mail),
    account, disconnect (asks), unlink (confirmed)."""

    action: str


class Settle(CallbackData, prefix="st"):
    """Settling an order the panel never answered about: `found` (it is on the panel: asks
    for its id), `absent` (it is not), `track` (yes, the order the panel showed is it)."""

    order: Number
    action: str
