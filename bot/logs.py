"""Logging: one readable line per record, or one JSON object per line for a log shipper.

Each record made while an update is handled carries that update's id and its person's id:
`handlers.middlewares.LogContext`, the outermost middleware, puts them in context
variables (copied into every task started meanwhile), and `UpdateFields`, a filter on the
handler, copies them onto the record. Secrets are already gone from a record when it gets
here (`bot.redaction` redacts it as it is made), so the JSON is built from redacted text.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from bot.config import Settings

HANDLER_NAME = "smmbot"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TAGGED_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [update %(update_id)s]: %(message)s"
# One line per request or per update at INFO: shown only with LOG_LEVEL=DEBUG. aiogram's
# start and stop lines come from `aiogram.dispatcher` and stay.
CHATTY_LOGGERS = ("httpx", "httpcore", "aiogram.event")


@dataclass(frozen=True)
class UpdateContext:
    update_id: int
    user_id: int | None = None


_update: ContextVar[UpdateContext | None] = ContextVar("log_update", default=None)


def current_update() -> UpdateContext | None:
    """The update being handled in this context, if any."""
    return _update.get()


@contextmanager
def update_context(update_id: int, user_id: int | None = None) -> Iterator[UpdateContext]:
    """Records made inside the block, and in tasks started inside it, name this update."""
    context = UpdateContext(update_id, user_id)
    token = _update.set(context)
    try:
        yield context
    finally:
        _update.reset(token)


class UpdateFields(logging.Filter):
    """Copies the current update's ids onto each record (unless it was logged with its own
    `extra=`), for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _update.get()
        if not hasattr(record, "update_id"):
            record.update_id = context.update_id if context is not None else None
        if not hasattr(record, "user_id"):
            record.user_id = context.user_id if context is not None else None
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, with `[update N]` after the logger's name where known."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)
        self._tagged = logging.PercentStyle(TAGGED_TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        if getattr(record, "update_id", None) is None:
            return super().formatMessage(record)
        return self._tagged.format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: timestamp (UTC, ISO 8601, `Z`), level,
    logger, message; update_id and user_id where known; exception (the formatted traceback)
    and stack where the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, tz=UTC)
        entry: dict[str, Any] = {
            "timestamp": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("update_id", "user_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        # bot.redaction has already rendered (and redacted) the traceback into exc_text;
        # formatting exc_info again would bring the secrets back.
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii=False: the line holds the record's own characters, so the redacting
        # stderr still recognises a secret in it; default=str: never fail on a stray object.
        return json.dumps(entry, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is when the record comes: `bot.output` replaces it
    with a redacting stream, and tests capture it."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass  # always sys.stderr; logging.StreamHandler.__init__ assigns it


def build_handler(log_format: str) -> logging.Handler:
    handler = StderrHandler()
    handler.set_name(HANDLER_NAME)
    handler.addFilter(UpdateFields())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return handler


def configure_logging(settings: Settings) -> None:
    """The root logger writes LOG_FORMAT lines at LOG_LEVEL to stderr; the per-request and
    per-update INFO lines of httpx and aiogram only at DEBUG. Calling it again replaces what
    an earlier call installed, and leaves other handlers (a test runner's) alone."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == HANDLER_NAME:
            root.removeHandler(existing)
            existing.close()
    root.addHandler(build_handler(settings.log_format))
    level = logging.getLevelNamesMapping()[settings.log_level]
    root.setLevel(level)
    # At least WARNING, and never below LOG_LEVEL (ERROR must silence their warnings too).
    quiet = logging.NOTSET if level <= logging.DEBUG else max(level, logging.WARNING)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    # warnings.warn() then arrives as a record: a JSON line too, not a bare line on stderr.
    logging.captureWarnings(True)
