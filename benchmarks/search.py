"""What one search costs on a 5,000-service catalog: p50/p99 microseconds per query for a
short query, a realistic long one and two worst cases (4,000 characters of many distinct
short words, and of one-letter prefixes), plus what building the snapshot (and its search
index) costs. Prints one JSON line last.

    python -m benchmarks.search [--services 5000] [--runs 200] [--builds 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import time

from bot.catalog import CatalogSnapshot
from bot.sandbox.catalog import synthetic_catalog
from bot.smmlaba import Service

WORST_LENGTH = 4000


def distinct_words(length: int, seed: int = 1) -> str:
    """Many different short words (2-4 letters, Latin and Cyrillic), `length` characters."""
    rng = random.Random(seed)
    letters = string.ascii_lowercase + "абвгдежзиклмнопрстуфхцчшщэюя"
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append("".join(rng.choice(letters) for _ in range(rng.randint(2, 4))))
    return " ".join(words)[:length]


def one_letter_prefixes(length: int) -> str:
    """One-letter words that are prefixes of many names' words ("Instagram Likes"), so many
    services hold every one of them: the most a scan of the catalog can cost."""
    return ("i l " * length)[:length]


QUERIES = {
    "short": "instagram likes",
    "long": "cheap fast instagram likes for my new post from real people please",
    "worst_distinct_words": distinct_words(WORST_LENGTH),
    "worst_one_letter_prefixes": one_letter_prefixes(WORST_LENGTH),
}


def percentile(timings: list[float], share: float) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def per_query(snapshot: CatalogSnapshot, query: str, runs: int) -> dict[str, float | int]:
    found = len(snapshot.search(query, limit=11))  # and a warm-up
    timings: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        snapshot.search(query, limit=11)
        timings.append(time.perf_counter() - started)
    return {
        "chars": len(query),
        "found": found,
        "p50_us": round(percentile(timings, 0.5) * 1e6, 1),
        "p99_us": round(percentile(timings, 0.99) * 1e6, 1),
    }


def measure(size: int, runs: int, builds: int) -> dict[str, object]:
    services = [Service.model_validate(s) for s in synthetic_catalog(size, seed=1)]
    build_times: list[float] = []
    snapshot = CatalogSnapshot(services)
    for _ in range(builds):
        started = time.perf_counter()
        snapshot = CatalogSnapshot(services)
        build_times.append(time.perf_counter() - started)
    return {
        "services": size,
        "runs": runs,
        "snapshot_build_ms_median": round(statistics.median(build_times) * 1000, 1),
        "snapshot_build_ms_min": round(min(build_times) * 1000, 1),
        "queries": {name: per_query(snapshot, query, runs) for name, query in QUERIES.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--builds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(measure(args.services, args.runs, args.builds)))


if __name__ == "__main__":
    main()
