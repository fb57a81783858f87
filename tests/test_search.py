"""Search: a long query is cut (and the reply says so), the index finds exactly what a scan of
every service finds, ranked the same, and one search never reads the whole catalog. Where the
words as typed find nothing, mistyped words are corrected to the nearest indexed words, within
bounds; a service id finds its service; a link names its site's platforms. Cost is measured by
benchmarks/search.py, never asserted here. End to end: tests/test_finding.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rapidfuzz import process

import bot.catalog as catalog_module
from bot.catalog import SYNONYMS, CatalogSnapshot
from bot.sandbox.catalog import builtin_catalog, synthetic_catalog
from bot.smmlaba import Service
from handlers.callbacks import SearchHit, search_words
from tests.harness import BotHarness
from tests.helpers import names


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
    assert names(reply.button_labels)[0] == "TikTok Views"  # and it still answers


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


def agrees_with_a_scan(snapshot: CatalogSnapshot, query: str) -> bool:
    """Where the words as typed find something, the index finds exactly that, ranked the
    same, and corrects nothing; where they find nothing, whatever it finds is corrected."""
    found = snapshot.search(query, limit=len(snapshot))
    scanned = scan(snapshot, query)
    if scanned:
        return found.services == scanned and not found.approximate
    return found.approximate or not found.services


@pytest.mark.parametrize("query", QUERIES)
def test_the_index_finds_what_a_scan_finds(query: str) -> None:
    snapshot = snapshot_of(builtin_catalog())
    assert agrees_with_a_scan(snapshot, query)


def test_the_index_agrees_with_a_scan_on_every_word_and_synonym() -> None:
    snapshot = snapshot_of(builtin_catalog())
    words = {w for s in snapshot.services for w in catalog_module._words(s.name)}
    words |= {w for s in snapshot.services for w in catalog_module._words(s.category)}
    queries = sorted(words | {w[:2] for w in words} | set(SYNONYMS))
    for query in queries:
        assert agrees_with_a_scan(snapshot, query), query
    # The limit keeps the best ones.
    assert snapshot.search("likes", limit=3).services == scan(snapshot, "likes")[:3]


def test_the_index_agrees_with_a_scan_on_a_large_catalog() -> None:
    snapshot = snapshot_of(synthetic_catalog(600, seed=3))
    for query in ["instagram likes", "1", "12", "v", "лайки", "x", "t 5", "followers #7"]:
        assert snapshot.search(query, limit=len(snapshot)).services == scan(snapshot, query)


def test_synonyms_are_found_by_lookup_as_by_trying_every_stem() -> None:
    def tried(word: str) -> set[str]:
        found = {word}
        for stem, english in SYNONYMS.items():
            if word.startswith(stem) or (len(word) >= 3 and stem.startswith(word)):
                found.update(english)
        return found

    words = {
        w for s in snapshot_of(builtin_catalog()).services for w in catalog_module._words(s.name)
    }
    for word in sorted(words | set(SYNONYMS) | {stem[:n] for stem in SYNONYMS for n in (1, 2, 3)}):
        alternatives = catalog_module._alternatives(word)
        assert set(alternatives) == tried(word), word


# -- mistyped words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("instagarm likse", "Instagram Likes"),  # two swapped letters, one edit each
        ("подпищики ютуб", "YouTube Subscribers"),  # "щ" for "сч": two edits
        ("tiktok vews", "TikTok Views"),  # a letter left out, beside a word as typed
        ("folowers instagram", "Instagram Followers"),
        ("телеграм подпищики", "Telegram - Подписчики"),
        ("ютб", "YouTube Views"),  # a synonym's stem, mistyped
    ],
)
def test_a_mistyped_query_finds_what_was_meant(query: str, first: str) -> None:
    found = snapshot_of(builtin_catalog()).search(query, limit=5)
    assert found.approximate
    assert found.services[0].name == first


def test_a_mistyped_word_is_corrected_through_synonym_stems_too() -> None:
    # No Russian word in this catalog: "подпищики" is the stem "подписчик" mistyped.
    snapshot = snapshot_of(synthetic_catalog(200, seed=1))
    found = snapshot.search("подпищики instagram", limit=3)
    assert found.approximate
    assert [s.name.split(" #")[0] for s in found.services] == ["Instagram Followers"] * 3


def wire(service_id: str, name: str, category: str = "Shop. Things. ") -> dict[str, object]:
    return {"service": service_id, "product_name": name, "category": category, "price": "1 per 1"}


def test_nearer_spellings_rank_first_and_exact_words_are_never_corrected() -> None:
    snapshot = snapshot_of(
        [wire("1", "Battles"), wire("2", "Bottles for a long name"), wire("3", "Bottlex")]
    )
    # As typed, "bottlex" is a word: nothing is corrected.
    assert [s.id for s in snapshot.search("bottlex").services] == ["3"]
    snapshot = snapshot_of([wire("1", "Battles"), wire("2", "Bottles for a long name")])
    found = snapshot.search("bottlez")
    # One edit before two, however long the name.
    assert [s.id for s in found.services] == ["2", "1"]
    assert found.approximate


def test_words_that_match_alone_but_not_together_are_corrected() -> None:
    snapshot = snapshot_of([wire("1", "Likes fast"), wire("2", "Lines slow")])
    # "likes" and "slow" both exist, never together: "likes" is also read as "lines".
    found = snapshot.search("likes slow")
    assert [s.id for s in found.services] == ["2"]
    assert found.approximate


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("nstagram likes", "the first letter is never corrected"),
        ("instagrxyz likes", "three edits are too many for nine letters"),
        ("lxkxs", "two edits are too many for five letters"),
        ("li likes", "two letters are never corrected (and match as a start)"),
        ("zz", "two letters are never corrected"),
        ("instagram 99999", "numbers are never corrected"),
    ],
)
def test_corrections_stay_within_bounds(query: str, why: str) -> None:
    snapshot = snapshot_of(builtin_catalog())
    found = snapshot.search(query)
    assert found.services == scan(snapshot, query), why


def test_a_correction_compares_only_words_of_its_first_letter_and_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    snapshot = snapshot_of(builtin_catalog())
    compared: list[str] = []
    extract = process.extract

    def recording(word: str, choices: list[str], **options: Any) -> Any:
        compared.extend(choices)
        return extract(word, choices, **options)

    monkeypatch.setattr(process, "extract", recording)
    assert snapshot.search("instagarm").services[0].name.startswith("Instagram")
    assert compared
    assert all(w.startswith("i") and 7 <= len(w) <= 11 for w in compared)
    assert len(compared) < len(snapshot._index._spellings) / 10


def test_a_long_mistyped_query_corrects_at_most_its_first_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    snapshot = snapshot_of(builtin_catalog())
    corrected: list[str] = []
    nearest = catalog_module._SearchIndex._nearest

    def counting(index: catalog_module._SearchIndex, word: str) -> list[tuple[str, int]]:
        corrected.append(word)
        return nearest(index, word)

    monkeypatch.setattr(catalog_module._SearchIndex, "_nearest", counting)
    query = " ".join(f"instagarm{'x' * n}" for n in range(1000))[:4000]
    snapshot.search(query)
    assert 0 < len(corrected) <= catalog_module.QUERY_WORDS
    assert len(corrected) == len(set(corrected))


# -- ids and links -----------------------------------------------------------------------


def test_every_service_is_found_by_its_id_byte_for_byte() -> None:
    snapshot = snapshot_of(builtin_catalog())
    for service in snapshot.services:
        assert snapshot.search(service.id).services[0] is service, repr(service.id)
    # The panel lists one id with a trailing space; typed without it, it is still found.
    [spaced] = [s for s in snapshot.services if s.id != s.id.strip()]
    assert snapshot.search(spaced.id.strip()).services[0] is spaced
    # Numbers in names still match after the id's service.
    assert [s.id for s in snapshot.search("389").services] == ["389"]


def test_an_id_stands_alone_when_its_words_only_match_mistyped() -> None:
    snapshot = snapshot_of(builtin_catalog())
    found = snapshot.search("instsaves")
    assert [s.name for s in found.services] == ["Instagram Saves"]
    assert not found.approximate


@pytest.mark.parametrize(
    ("text", "site"),
    [
        ("https://www.instagram.com/p/Cx1?igsh=a", "instagram.com"),
        ("http://m.vk.com/wall-1_2", "vk.com"),
        ("t.me/channel", "t.me"),
        ("look: https://vm.tiktok.com/ZM123/ please", "vm.tiktok.com"),
        ("YouTube.com", "youtube.com"),
        ("рутуб.рф/video/1", "рутуб.рф"),
        ("instagram likes", None),
        ("1.5", None),
        ("v2.0 fast", None),
        ("e.g", None),
        ("https://localhost/x", None),
    ],
)
def test_a_link_is_read_as_its_site(text: str, site: str | None) -> None:
    assert catalog_module.site_of(text) == site


@pytest.mark.parametrize(
    ("site", "platforms"),
    [
        ("instagram.com", ["Instagram"]),
        ("youtu.be", ["YouTube"]),  # only the services' rules say so
        ("vm.tiktok.com", ["TikTok"]),  # under a site the rules name
        ("vk.com", ["VK", "ВКонтакте"]),
        ("x.com", ["X", "Twitter"]),
        ("example.com", []),
    ],
)
def test_a_site_finds_the_platforms_whose_services_are_for_it(
    site: str, platforms: list[str]
) -> None:
    snapshot = snapshot_of(builtin_catalog())
    assert [p.name for p in snapshot.platforms_for_site(site)] == platforms


def test_a_site_finds_a_platform_by_its_name_when_no_rule_names_it() -> None:
    snapshot = snapshot_of([wire("1", "Twitch - Followers", "Twitch. Followers. ")])
    assert [p.name for p in snapshot.platforms_for_site("twitch.tv")] == ["Twitch"]
    assert snapshot.platforms_for_site("tv.com") == []  # the top-level label is no name


# -- what a results button carries ---------------------------------------------------------


def test_a_search_fits_in_its_buttons_as_whole_words() -> None:
    assert search_words(["Instagram", "LIKES"]) == "instagram likes"
    russian = ["подписчики", "телеграм", "канал", "быстро", "дешево"]
    kept = search_words(russian)
    assert russian[0].startswith(kept.split()[0])
    assert kept == "подписчики телеграм"  # whole words only: the third would not fit
    assert search_words(["a" * 45]) == ""
    for words in (russian, ["x" * 44], [*"abcdefghijklmnopqrstuvwxyz"]):
        data = SearchHit(service="f" * 16, query=search_words(words)).pack()
        assert len(data.encode()) <= 64


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
    assert snapshot.search(query).services == []
    assert looked_up == many_words(8).split()  # 8 of the query's 1,000 words
    parsed = catalog_module.Query.parse(query)
    assert parsed.words == tuple(looked_up)
    assert parsed.shortened


def test_the_limits() -> None:
    def parsed(text: str) -> tuple[tuple[str, ...], bool]:
        query = catalog_module.Query.parse(text)
        return query.words, query.shortened

    assert parsed("instagram likes") == (("instagram", "likes"), False)
    assert parsed(many_words(8)) == (tuple(many_words(8).split()), False)
    assert parsed(many_words(9)) == (tuple(many_words(8).split()), True)
    # Past 200 characters: a word cut in two is left out, not searched for by its start.
    long_word = "a" * 195
    assert parsed(f"{long_word} bcdefgh") == ((long_word,), True)
    assert parsed(f"{long_word} bcd") == ((long_word, "bcd"), False)
    assert parsed(f"{long_word} bcd   !!!   ") == ((long_word, "bcd"), False)
    assert parsed("x" * 4000) == ((), True)
    # The whole text is kept for an id when it is no longer than the words' limit.
    assert catalog_module.Query.parse("fbpagelikeindia ").text == "fbpagelikeindia "
    assert catalog_module.Query.parse("x" * 201).text == ""


class Unreadable(tuple[Service, ...]):
    """The catalog's services, which a search must not walk one by one."""

    def __iter__(self) -> Iterator[Service]:
        raise AssertionError("the search walked every service")


def test_a_search_does_not_walk_the_catalog() -> None:
    snapshot = snapshot_of(synthetic_catalog(5000, seed=1))
    best = scan(snapshot, "instagram likes")[:3]
    snapshot.services = Unreadable(snapshot.services)
    assert snapshot.search("zzz nothing here").services == []
    assert snapshot.search("instagram likes", limit=3).services == best
    assert snapshot.search("instagarm likse", limit=3).services == best  # corrected
    assert snapshot.search("youtbue vews 1234").services[0].id == "11234"
