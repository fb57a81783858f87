"""Keeping secrets out of the logs, whichever library logs them.

A log record factory (logging's one hook every record passes through, aiogram's and httpx's
included) renders the message, the traceback and the stack at creation and replaces anything
shaped like a bot token, and every secret it was told about, with `***`. Handlers then format
the already redacted text.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

MASK = "***"
# A bot token: the bot's numeric id, a colon, 35 characters of url-safe base64. Not `\b`:
# in a URL the id follows "bot" directly.
BOT_TOKEN_SHAPE = re.compile(r"(?<!\d)\d{5,16}:[A-Za-z0-9_-]{30,}")
SHORTEST_SECRET = 6  # shorter "secrets" would mask ordinary words
# API keys are words of these characters: such a secret is found as a whole word, by one set
# lookup per word, so the cost of a record does not grow with the number of keys held.
_WORD = re.compile(r"[A-Za-z0-9_-]+")


class Redactor:
    """The secrets the process holds. Add each one as soon as it holds it, and discard it
    once it no longer does (a key that was refused, an account unlinked)."""

    def __init__(self) -> None:
        self._words: set[str] = set()
        self._others: set[str] = set()  # secrets with other characters: few, if any
        self._pattern: re.Pattern[str] | None = None

    def __repr__(self) -> str:
        return f"Redactor({len(self._words) + len(self._others)} secrets)"

    def add(self, secret: str) -> None:
        if len(secret) < SHORTEST_SECRET:
            return
        if _WORD.fullmatch(secret):
            self._words.add(secret)
        elif secret not in self._others:
            self._others.add(secret)
            self._pattern = None

    def discard(self, secret: str) -> None:
        self._words.discard(secret)
        if secret in self._others:
            self._others.discard(secret)
            self._pattern = None

    def redact(self, text: str) -> str:
        if self._others:
            if self._pattern is None:
                # Longest first, so a secret that contains another is hidden whole.
                alternatives = sorted(self._others, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(item) for item in alternatives))
            text = self._pattern.sub(MASK, text)
        if self._words:
            words = self._words
            text = _WORD.sub(lambda word: MASK if word[0] in words else word[0], text)
        return BOT_TOKEN_SHAPE.sub(MASK, text)

    def redact_record(self, record: logging.LogRecord) -> None:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = self.redact("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)


@contextmanager
def redacting_logs(redactor: Redactor) -> Iterator[Redactor]:
    """Redact every log record created inside the block."""
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redactor.redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    try:
        yield redactor
    finally:
        # Another block may have wrapped ours meanwhile; then it restores its own on exit.
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)
