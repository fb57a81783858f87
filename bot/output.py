"""Keeping secrets out of everything the process writes: stdout and stderr themselves.

`bot.redaction` redacts log records; tracebacks Python prints for an uncaught exception, a
library's `print()` and the CLI's own lines go to the streams directly. `redacting_output`
puts a `RedactingStream` in place of `sys.stdout` and `sys.stderr`, so each write passes
through the `Redactor` (which also masks anything shaped like a bot token) on its way out.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO, cast

from bot.redaction import Redactor


class RedactingStream(io.TextIOBase):
    """A text stream that redacts each write, then hands it to `stream`.

    Each write is redacted whole: a secret is caught as long as one write holds it, which is
    how print(), logging's handlers and traceback printing write (a value, a record, a line).
    """

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        super().__init__()
        self.stream = stream
        self.redactor = redactor

    def __repr__(self) -> str:
        return f"RedactingStream({self.stream!r}, {self.redactor!r})"

    def write(self, text: str) -> int:
        self.stream.write(self.redactor.redact(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:  # type: ignore[override]
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.stream.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def close(self) -> None:
        # The wrapped stream is not ours to close; only flush what is on its way.
        self.flush()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.stream.errors

    @property
    def line_buffering(self) -> bool:
        return bool(self.stream.line_buffering)


@contextmanager
def redacting_output(redactor: Redactor) -> Iterator[Redactor]:
    """Redact everything written to sys.stdout and sys.stderr inside the block. Add each secret
    to `redactor` as soon as the process holds it."""
    saved = sys.stdout, sys.stderr
    sys.stdout = cast(TextIO, RedactingStream(sys.stdout, redactor))
    sys.stderr = cast(TextIO, RedactingStream(sys.stderr, redactor))
    try:
        yield redactor
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        sys.stdout, sys.stderr = saved
