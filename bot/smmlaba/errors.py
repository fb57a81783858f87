"""What can go wrong when talking to the panel.

Messages never contain the API key: the client scrubs every text it puts into an error.
"""

from __future__ import annotations


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
