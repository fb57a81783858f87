"""Search: a long query is cut (and the reply says so), the index finds exactly what a scan of
every service finds, ranked the same, and one search never reads the whole catalog. Cost is
measured by benchmarks/search.py, never asserted here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import bot.catalog as catalog_module
from bot.catalog import SYNONYMS, CatalogSnapshot
from bot.sandbox.catalog import builtin_catalog, synthetic_catalog
from bot.smmlaba import Service
from tests.harness import BotHarness


def snapshot_of(wire: list[dict[str, object]]) -> CatalogSnapshot:
    return CatalogSnapshot([Service.model_validate(s) for s in wire])


def many_words(count: int) -> str:
    """`count` distinct short words that no service holds ("qa0 qa1 ...")."""
    return " ".join(f"q{n}" for n in range(count))


# -- the cut, end to end -----------------------------------------------------------------


async def test_a_4000_character_query_is_cut_and_the_reply_says_so(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    query = ("tiktok views " * 400)[:4000]
    await anna.send(f"/search {query}")
    reply = anna.last_message
    assert "The query was too long" in reply.text
    assert "Results for «tiktok views tiktok views" in reply.text
    assert reply.button_labels[0] == "TikTok Views"  # and it still answers


async def test_an_ordinary_query_is_not_said_to_be_cut(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/search tiktok views")
    assert "too long" not in anna.last_message.text
    await anna.send(f"/search {many_words(500)}")
    assert "Nothing found for «q0 q1" in anna.last_message.text
    assert "The query was too long" in anna.last_message.text


# -- the index finds what a scan finds ---------------------------------------------------


def scan(snapshot: CatalogSnapshot, query: str) -> list[Service]:
    """The search as it was before the index: every service, every word."""
    terms = [catalog_module._alternatives(w) for w in catalog_module._words(query)]
    if not terms:
        return []

    def matches(alternatives: tuple[str, ...], text: str) -> bool:
        held = catalog_module._words(text)
        return any(word.startswith(alt) for alt in alternatives for word in held)

    scored = []
    for service in snapshot.services:
        score = 0
        for alternatives in terms:
            if matches(alternatives, service.name):
                score += 2
            elif matches(alternatives, " ".join(service.category_path)):
                score += 1
            else:
                break
        else:
            scored.append((-score, len(service.name), service.id, service))
    scored.sort(key=lambda item: item[:3])
    return [item[3] for item in scored]


QUERIES = [
    "instagram likes",
    "INSTAGRAM",
    "tiktok VIEWS",
    "i",
    "in li",
    "t v",
    "youtube subscribers",
    "лайки инстаграм",
    "подписчики телеграм",
    "просмотры тикток",
    "лай",  # a stem's start: "лайк" -> like
    "подп",
    "тг",
    "вк друзья",
    "твиттер",
    "комментарии",
    "реакции",
    "views views",  # a repeated word counts twice
    "likes instagram likes",
    "drip",
    "fast & cheap",
    "zzz",
    "instagram zzz",
    "",
    "!!!",
    "1",
    "0",
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_index_finds_what_a_scan_finds(query: str) -> None:
    snapshot = snapshot_of(builtin_catalog())
    assert snapshot.search(query, limit=len(snapshot)) == scan(snapshot, query)


def test_the_index_agrees_with_a_scan_on_every_word_and_synonym() -> None:
    snapshot = snapshot_of(builtin_catalog())
    words = {w for s in snapshot.services for w in catalog_module._words(s.name)}
    words |= {w for s in snapshot.services for w in catalog_module._words(s.category)}
    queries = sorted(words | {w[:2] for w in words} | set(SYNONYMS))
    for query in queries:
        assert snapshot.search(query, limit=len(snapshot)) == scan(snapshot, query), query
    # The limit keeps the best ones.
    assert snapshot.search("likes", limit=3) == scan(snapshot, "likes")[:3]


def test_the_index_agrees_with_a_scan_on_a_large_catalog() -> None:
    snapshot = snapshot_of(synthetic_catalog(600, seed=3))
    for query in ["instagram likes", "1", "12", "v", "лайки", "x", "t 5", "followers #7"]:
        assert snapshot.search(query, limit=len(snapshot)) == scan(snapshot, query), query


# -- what one search reads ---------------------------------------------------------------


@pytest.fixture
def looked_up(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The query words a search looks up (each word's synonyms are worked out once)."""
    words: list[str] = []
    alternatives = catalog_module._alternatives

    def counting(word: str) -> tuple[str, ...]:
        words.append(word)
        return alternatives(word)

    monkeypatch.setattr(catalog_module, "_alternatives", counting)
    return words


def test_a_long_query_uses_only_its_first_words(looked_up: list[str]) -> None:
    snapshot = snapshot_of(builtin_catalog())
    query = many_words(1000)[:4000]
    assert snapshot.search(query) == []
    assert looked_up == many_words(8).split()  # 8 of the query's 1,000 words
    parsed = catalog_module.Query.parse(query)
    assert parsed.words == tuple(looked_up)
    assert parsed.shortened


def test_the_limits() -> None:
    Query = catalog_module.Query
    assert Query.parse("instagram likes") == Query(("instagram", "likes"), shortened=False)
    assert Query.parse(many_words(8)) == Query(tuple(many_words(8).split()), shortened=False)
    assert Query.parse(many_words(9)) == Query(tuple(many_words(8).split()), shortened=True)
    # Past 200 characters: a word cut in two is left out, not searched for by its start.
    long_word = "a" * 195
    assert Query.parse(f"{long_word} bcdefgh") == Query((long_word,), shortened=True)
    assert Query.parse(f"{long_word} bcd") == Query((long_word, "bcd"), shortened=False)
    assert Query.parse(f"{long_word} bcd   !!!   ") == Query((long_word, "bcd"), shortened=False)
    assert Query.parse("x" * 4000) == Query((), shortened=True)


class Unreadable(tuple[Service, ...]):
    """The catalog's services, which a search must not walk one by one."""

    def __iter__(self) -> Iterator[Service]:
        raise AssertionError("the search walked every service")


def test_a_search_does_not_walk_the_catalog() -> None:
    snapshot = snapshot_of(synthetic_catalog(5000, seed=1))
    best = scan(snapshot, "instagram likes")[:3]
    snapshot.services = Unreadable(snapshot.services)
    assert snapshot.search("zzz nothing here") == []
    assert snapshot.search("instagram likes", limit=3) == best
