"""What redacting one log record costs as the bot holds more API keys (linked accounts): it
must not grow with their number. Prints one JSON line last.

    python -m benchmarks.redaction [--runs 2000]
"""

from __future__ import annotations

import argparse
import json
import secrets
import timeit
from functools import partial

from bot.redaction import Redactor

LINE = (
    "2026-11-30 04:26:12,187 WARNING bot.ordering: panel took order 199: panel order 7000198, "
    "price 0.1250 for user 501 on account bob@example.com"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    runs = parser.parse_args().runs
    figures: dict[str, float] = {}
    for keys in (1, 1_000, 50_000):
        redactor = Redactor()
        for _ in range(keys):
            redactor.add(secrets.token_hex(20))
        redactor.redact(LINE)
        seconds = timeit.timeit(partial(redactor.redact, LINE), number=runs) / runs
        figures[f"us_per_record_{keys}_keys"] = round(seconds * 1e6, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
