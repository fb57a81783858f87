"""What one search costs on a 5,000-service catalog: p50/p99 microseconds per query for a
short query, a realistic long one, two worst cases (4,000 characters of many distinct short
words, and of one-letter prefixes), mistyped queries (corrected to the nearest indexed words)
and their worst cases (eight mistyped words; eight words that match alone but not together,
so every word is corrected), plus what building the snapshot (and its search index) costs.
The typos are measured again on a catalog of as many services with 4,000 distinct words in
their names, where a correction has many more words to compare. Prints one JSON line last.

    python -m benchmarks.search [--services 5000] [--runs 200] [--builds 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import time
from typing import Any

from bot.catalog import CatalogSnapshot
from bot.sandbox.catalog import synthetic_catalog
from bot.smmlaba import Service

WORST_LENGTH = 4000
LATIN = string.ascii_lowercase
CYRILLIC = "абвгдежзийклмнопрстуфхцчшщыьэюя"


def distinct_words(length: int, seed: int = 1) -> str:
    """Many different short words (2-4 letters, Latin and Cyrillic), `length` characters."""
    rng = random.Random(seed)
    letters = LATIN + CYRILLIC
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append("".join(rng.choice(letters) for _ in range(rng.randint(2, 4))))
    return " ".join(words)[:length]


def one_letter_prefixes(length: int) -> str:
    """One-letter words that are prefixes of many names' words ("Instagram Likes"), so many
    services hold every one of them: the most a scan of the catalog can cost."""
    return ("i l " * length)[:length]


def swapped(word: str) -> str:
    """`word` with two letters in its middle swapped: the commonest typo."""
    middle = len(word) // 2
    return word[: middle - 1] + word[middle] + word[middle - 1] + word[middle + 1 :]


QUERIES = {
    "short": "instagram likes",
    "long": "cheap fast instagram likes for my new post from real people please",
    "worst_distinct_words": distinct_words(WORST_LENGTH),
    "worst_one_letter_prefixes": one_letter_prefixes(WORST_LENGTH),
    "typo": "instagarm likse",
    "typo_russian": "подпищики ютуб",
    "worst_typos": "instagarm telegarm youtbue tiktko facebok twicth folowers coments",
    "worst_words_apart": "instagram telegram youtube tiktok facebook twitch likes views",
}


def wordy_catalog(
    size: int, vocabulary: int, seed: int = 2
) -> tuple[list[dict[str, Any]], list[str]]:
    """`size` services whose names are 3-6 words of `vocabulary` distinct words (5-11
    letters, Latin and Cyrillic), and that vocabulary."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < vocabulary:
        letters = rng.choice([LATIN, CYRILLIC])
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(5, 11))))
    vocabulary_words = sorted(words)
    services = synthetic_catalog(size, seed=seed)
    for service in services:
        service["product_name"] = " ".join(rng.sample(vocabulary_words, rng.randint(3, 6)))
    return services, vocabulary_words


def wordy_queries(services: list[dict[str, Any]]) -> dict[str, str]:
    first = str(services[0]["product_name"]).split()
    eight = [str(s["product_name"]).split()[0] for s in services[1:9]]
    return {
        "typo": " ".join(swapped(w) for w in first[:2]),
        "worst_typos": " ".join(swapped(w) for w in eight),
    }


def percentile(timings: list[float], share: float) -> float:
    ordered = sorted(timings)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def per_query(snapshot: CatalogSnapshot, query: str, runs: int) -> dict[str, float | int]:
    found = len(snapshot.search(query, limit=11).services)  # and a warm-up
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


def builds(services: list[Service], count: int) -> tuple[CatalogSnapshot, list[float]]:
    snapshot = CatalogSnapshot(services)
    times: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        snapshot = CatalogSnapshot(services)
        times.append(time.perf_counter() - started)
    return snapshot, times


def measure(size: int, runs: int, build_count: int) -> dict[str, object]:
    services = [Service.model_validate(s) for s in synthetic_catalog(size, seed=1)]
    snapshot, build_times = builds(services, build_count)
    wordy, vocabulary = wordy_catalog(size, vocabulary=4000)
    wordy_snapshot, wordy_build_times = builds(
        [Service.model_validate(s) for s in wordy], build_count
    )
    return {
        "services": size,
        "runs": runs,
        "snapshot_build_ms_median": round(statistics.median(build_times) * 1000, 1),
        "snapshot_build_ms_min": round(min(build_times) * 1000, 1),
        "queries": {name: per_query(snapshot, query, runs) for name, query in QUERIES.items()},
        "wordy_catalog": {
            "distinct_name_words": len(vocabulary),
            "snapshot_build_ms_median": round(statistics.median(wordy_build_times) * 1000, 1),
            "queries": {
                name: per_query(wordy_snapshot, query, runs)
                for name, query in wordy_queries(wordy).items()
            },
        },
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
