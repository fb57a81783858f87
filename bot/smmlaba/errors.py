"""What can go wrong when talking to the panel.

Messages never contain the API key: the client scrubs every text it puts into an error.
"""

from __future__ import annotations

from enum import StrEnum


class PanelException(Exception):
    """Base of every panel failure; `str()` is safe to log."""


class PanelError(PanelException):
    """The panel answered `result: error`; `text` is its own explanation, for the user."""

    def __init__(self, action: str, text: str, message: str = "") -> None:
        self.action = action
        self.text = text or "the panel refused without saying why"
        self.message = message
        detail = f" ({message})" if message and message != text else ""
        super().__init__(f"panel refused {action!r}: {self.text}{detail}")


class PanelUnavailable(PanelException):
    """The panel could not be reached or did not answer with its JSON envelope."""

    note = ""

    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"panel unavailable during {action!r}{self.note}: {reason}")


class PanelNotSent(PanelUnavailable):
    """The request never left this process (no free connection, or none could be opened): the
    panel did not see it, so an `add` that failed this way placed no order."""

    note = " (not sent)"


class PanelProtocolError(PanelException):
    """The panel answered with its JSON envelope, but not in the shape the action promises."""

    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"unexpected panel answer to {action!r}: {reason}")


class Refusal(StrEnum):
    """What one of the panel's usual refusals is about."""

    NO_FUNDS = "no_funds"
    BAD_CREDENTIALS = "bad_credentials"
    NO_SERVICE = "no_service"
    NO_ORDER = "no_order"
    BAD_LINK = "bad_link"
    BAD_AMOUNT = "bad_amount"


# No list of the panel's error texts is published: each kind by words its refusals use, in
# Russian and English, case-folded; the first kind that matches wins, the vaguest last.
_REFUSAL_WORDS: tuple[tuple[Refusal, tuple[str, ...]], ...] = (
    (
        Refusal.NO_FUNDS,
        ("недостаточно средств", "не хватает средств", "insufficient", "not enough"),
    ),
    (
        Refusal.BAD_CREDENTIALS,
        ("api ключ", "api-ключ", "apikey", "api key", "неверный email", "invalid email"),
    ),
    (Refusal.NO_SERVICE, ("услуга не найдена", "service not found", "неверная услуга")),
    (Refusal.NO_ORDER, ("заказ не найден", "order not found", "неверный номер заказа")),
    (Refusal.BAD_LINK, ("ссылк", "link", "url")),
    (Refusal.BAD_AMOUNT, ("количеств", "quantity", "минимальн", "максимальн", "minimum")),
)


def refusal_of(text: str) -> Refusal | None:
    """The kind of refusal `text` (the panel's words) is, if it is one of the usual ones."""
    folded = text.casefold()
    for kind, words in _REFUSAL_WORDS:
        if any(word in folded for word in words):
            return kind
    return None
