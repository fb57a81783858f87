"""The catalog: fetched once, kept in memory and in SQLite, refreshed in the background, so a
click never waits on the panel and menus survive a restart. How the real catalog looks, and
why each rule: docs/PANEL_API.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import logging
import re
import time
from bisect import bisect_left
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate, chain
from typing import Any

from pydantic import ValidationError
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.smmlaba import Panel, PanelException, Service
from storage import catalog as catalog_cache
from storage.db import Database

logger = logging.getLogger(__name__)

OTHER = "Other"
PREFIX_LIMIT = 40  # a platform prefix in a name is short; a longer one is part of the name
_WORD = re.compile(r"\w+", re.UNICODE)
# What one search reads of a query: its first words, within its first characters.
QUERY_WORDS = 8
QUERY_CHARS = 200
# How many indexed spellings a mistyped word may stand for: the nearest ones.
NEAREST_SPELLINGS = 5

# Russian stems -> the English words the panel's names use, so "лайки инстаграм" finds
# "Instagram Likes". A stem matches any word that starts with it.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "лайк": ("like",),
    "подписчик": ("follower", "subscriber", "member"),
    "подписк": ("follower", "subscriber"),
    "фолловер": ("follower",),
    "просмотр": ("view",),
    "комментар": ("comment",),
    "коммент": ("comment",),
    "репост": ("repost", "share"),
    "поделит": ("share",),
    "друз": ("friend",),
    "участник": ("member",),
    "реакц": ("reaction",),
    "голос": ("vote",),
    "опрос": ("poll",),
    "сохранен": ("save",),
    "часы": ("hour", "watch"),
    "инстаграм": ("instagram",),
    "инста": ("instagram",),
    "телеграм": ("telegram",),
    "телега": ("telegram",),
    "тг": ("telegram",),
    "ютуб": ("youtube",),
    "тикток": ("tiktok",),
    "вконтакте": ("vk",),
    "вк": ("vk",),
    "твиттер": ("twitter", "x"),
    "твитер": ("twitter", "x"),
    "канал": ("channel",),
    "пост": ("post",),
    "видео": ("video",),
}


def short_key(text: str) -> str:
    return hashlib.blake2s(text.encode("utf-8"), digest_size=4).hexdigest()


def service_key(service_id: str) -> str:
    """A service's key in callback data: a hash of the id, never the id itself, so an id with
    spaces, any script or any length fits in 64 bytes. 64 bits: two services of one catalog
    never share a key, which would open one for the other."""
    return hashlib.blake2s(service_id.encode("utf-8"), digest_size=8).hexdigest()


@dataclass(frozen=True)
class Category:
    key: str
    name: str
    services: tuple[Service, ...]


@dataclass(frozen=True)
class Platform:
    key: str
    name: str
    categories: tuple[Category, ...]

    @property
    def service_count(self) -> int:
        return sum(len(category.services) for category in self.categories)


def _place(service: Service) -> tuple[str, str]:
    """(platform, category) as the panel spells them: from the dotted category, else from the
    name's prefix ("Spotify - Прослушивания" -> Spotify)."""
    path = service.category_path
    if path:
        return path[0], " / ".join(path[1:]) or path[0]
    prefix, dash, _ = service.name.partition(" - ")
    if dash and prefix and len(prefix) <= PREFIX_LIMIT:
        return prefix, OTHER
    return OTHER, OTHER


def _first_of_each_id(services: Iterable[Service]) -> tuple[Service, ...]:
    """One service per id, the first listed: `add` names a service by id alone, so two entries
    with one id are one service to the panel, and the first is the one a lookup finds."""
    kept: dict[str, Service] = {}
    ignored: list[Service] = []
    for service in services:
        if kept.setdefault(service.id, service) is not service:
            ignored.append(service)
    if ignored:
        logger.warning(
            "the catalog lists %d service ids more than once; kept the first of each: %s",
            len(ignored),
            "; ".join(f"{s.id!r} is {kept[s.id].name!r}, not {s.name!r}" for s in ignored[:5]),
        )
    return tuple(kept.values())


def _fold(name: str) -> str:
    """Spellings that differ only in case are one entry: TIKTOK and TikTok."""
    return name.casefold()


class CatalogSnapshot:
    """One immutable version of the catalog, with its lookup tables. Services are grouped
    platform -> category from the panel's dotted categories ("Instagram. Likes. " ->
    Instagram -> Likes), spellings that differ only in case as one. Callback data carries
    short stable keys (hashes of names and ids): a key from an old message either still finds
    its item or cleanly finds nothing."""

    def __init__(self, services: Iterable[Service]) -> None:
        self.services = _first_of_each_id(services)
        spellings: dict[str, Counter[str]] = defaultdict(Counter)
        grouped: dict[str, dict[str, list[Service]]] = {}
        for service in self.services:
            platform, category = _place(service)
            platform_key = _fold(platform)
            category_key = f"{platform_key}\n{_fold(category)}"
            spellings[platform_key][platform] += 1
            spellings[category_key][category] += 1
            grouped.setdefault(platform_key, {}).setdefault(category_key, []).append(service)
        # Shown in the most common spelling; a tie goes to the first listed.
        self.platforms = tuple(
            Platform(
                short_key(platform_key),
                spellings[platform_key].most_common(1)[0][0],
                tuple(
                    Category(
                        short_key(category_key),
                        spellings[category_key].most_common(1)[0][0],
                        tuple(items),
                    )
                    for category_key, items in categories.items()
                ),
            )
            for platform_key, categories in grouped.items()
        )
        self._platforms = {p.key: p for p in self.platforms}
        self._locations = {
            service.id: (platform, category)
            for platform in self.platforms
            for category in platform.categories
            for service in category.services
        }
        self._services = {service_key(s.id): s for s in self.services}
        # An id typed with its spaces lost still finds its service: "fbpagelikeindia ".
        self._trimmed_ids: dict[str, Service] = {}
        for service in self.services:
            self._trimmed_ids.setdefault(service.id.strip(), service)
        self._index = _SearchIndex(self.services)

    def __len__(self) -> int:
        return len(self.services)

    def platform(self, key: str) -> Platform | None:
        return self._platforms.get(key)

    def category(self, platform_key: str, category_key: str) -> tuple[Platform, Category] | None:
        platform = self._platforms.get(platform_key)
        if platform is None:
            return None
        for category in platform.categories:
            if category.key == category_key:
                return platform, category
        return None

    def service(self, key: str) -> Service | None:
        """By callback key (see `service_key`)."""
        return self._services.get(key)

    def by_id(self, service_id: str) -> Service | None:
        return self._services.get(service_key(service_id))

    def location(self, service: Service) -> tuple[Platform, Category] | None:
        """Where `service` is listed; None when this snapshot no longer lists it."""
        return self._locations.get(service.id)

    def search(self, query: str | Query, limit: int = 20) -> Found:
        """Services for `query`, best first: the service whose id it is (as the panel lists
        it, or without the spaces around it), then those whose name or category holds every
        word (see `_SearchIndex`: a mistyped word is matched by its nearest spellings when
        nothing matches it as typed). Only the query's first words count (see `Query`)."""
        if isinstance(query, str):
            query = Query.parse(query)
        services, approximate = self._index.search(query, limit)
        named = self._typed_id(query.text)
        if named is None:
            return Found(query, services, approximate)
        # A typed id stands alone, unless its words match names as typed too.
        rest = [] if approximate else [s for s in services if s is not named]
        return Found(query, [named, *rest][:limit])

    def _typed_id(self, text: str) -> Service | None:
        if not text.strip():
            return None
        return self.by_id(text) or self._trimmed_ids.get(text.strip())

    def platforms_for_site(self, site: str) -> list[Platform]:
        """The platforms with services for `site` (see `site_of`), in menu order: a service's
        rules name the site or a domain it is under (vm.tiktok.com is tiktok.com's), or the
        platform's name is one of the site's labels (vk.com: VK)."""
        keys: set[str] = set()
        labels = site.split(".")
        for start in range(len(labels) - 1):
            keys.update(self._sites.get(".".join(labels[start:]), ()))
        keys.update(self._names[label] for label in labels[:-1] if label in self._names)
        return [p for p in self.platforms if p.key in keys]

    @cached_property
    def _sites(self) -> dict[str, set[str]]:
        """Site -> the platforms (keys) with a service whose rules name it. Built on the first
        link sent, not with the snapshot: most snapshots never see one."""
        sites: dict[str, set[str]] = defaultdict(set)
        hosts: dict[str, list[str]] = {}  # many services share one rule
        for platform in self.platforms:
            for category in platform.categories:
                for service in category.services:
                    for param in service.params:
                        named = hosts.get(param.valid)
                        if named is None:
                            named = hosts[param.valid] = [
                                _site(host) for host in _RULE_HOST.findall(param.valid)
                            ]
                        for host in named:
                            sites[host].add(platform.key)
        return sites

    @cached_property
    def _names(self) -> dict[str, str]:
        """A platform's name as a site's label would spell it ("VK": "vk") -> its key."""
        return {
            _NOT_IN_HOSTS.sub("", _fold(p.name)): p.key for p in self.platforms if p.name != OTHER
        }


@dataclass(frozen=True)
class Found:
    """What a search found, best first, and the query it read. `approximate`: some word was
    found only under a nearby spelling (a typo): nothing matched the words as typed."""

    query: Query
    services: list[Service]
    approximate: bool = False


# A host in a service's rule ("https://www.instagram.com  and /p/"), and a link as sent: with
# its scheme anywhere in the message, or without one as the whole message ("t.me/channel").
_RULE_HOST = re.compile(r"https?://([\w-]+(?:\.[\w-]+)+)", re.IGNORECASE)
_BARE_LINK = re.compile(r"((?:[\w-]+\.)+[^\W\d_]{2,})(?:[:/?#]\S*)?")
_NOT_IN_HOSTS = re.compile(r"[\W_]+")


def _site(host: str) -> str:
    """A host as sites are compared: case-folded, without a "www." or "m." in front."""
    host = host.casefold().strip(".")
    for prefix in ("www.", "m."):
        if host.startswith(prefix) and "." in host[len(prefix) :]:
            host = host[len(prefix) :]
    return host


def site_of(text: str) -> str | None:
    """The site a link in `text` points to ("instagram.com" for
    https://www.instagram.com/p/x); None when there is no link."""
    found = _RULE_HOST.search(text)
    if found is None:
        found = _BARE_LINK.fullmatch(text.strip())
    return None if found is None else _site(found[1])


def _readable(entries: Iterable[dict[str, Any]]) -> list[Service]:
    """The cached services that still pass today's checks: a cache written by an older
    version may hold one the models now refuse (an absurd price), which must not break every
    menu."""
    services: list[Service] = []
    dropped = 0
    for entry in entries:
        try:
            services.append(Service.model_validate(entry))
        except ValidationError:
            dropped += 1
    if dropped:
        logger.warning("dropped %d cached services that are no longer valid", dropped)
    return services


def _words(text: str) -> list[str]:
    return [word.casefold() for word in _WORD.findall(text)]


_STEMS = tuple(sorted(SYNONYMS))
_STEM_LETTERS = frozenset(stem[0] for stem in SYNONYMS)
_LONGEST_STEM = max(map(len, SYNONYMS))


def _alternatives(word: str) -> tuple[str, ...]:
    """`word` and the English words of the stems it starts with, or (from three letters on)
    that start with it: found by lookups, not by trying every stem."""
    found = [word]
    if not word or word[0] not in _STEM_LETTERS:
        return tuple(found)
    for end in range(1, min(len(word), _LONGEST_STEM) + 1):
        found.extend(SYNONYMS.get(word[:end], ()))
    if len(word) >= 3:
        for position in range(bisect_left(_STEMS, word), len(_STEMS)):
            stem = _STEMS[position]
            if not stem.startswith(word):
                break
            if len(stem) > len(word):
                found.extend(SYNONYMS[stem])
    return tuple(found)


@dataclass(frozen=True)
class Query:
    """The words a search uses: at most `QUERY_WORDS` of them, from the first `QUERY_CHARS`
    characters, so one long message costs what a short one does. `shortened` says words were
    left out. `words` are as typed (to show them); the search folds their case. `text` is the
    whole query when it is no longer than `QUERY_CHARS` (a service id is looked up by it)."""

    words: tuple[str, ...]
    shortened: bool = False
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Query:
        whole = text if len(text) <= QUERY_CHARS else ""
        words: list[str] = []
        # finditer is lazy: a 4,000-character message is read only up to the first word
        # past the limits.
        for match in _WORD.finditer(text):
            if len(words) == QUERY_WORDS or match.end() > QUERY_CHARS:
                return cls(tuple(words), shortened=True, text=whole)
            words.append(match.group())
        return cls(tuple(words), text=whole)


_BEYOND = "\U0010ffff"  # sorts after every character a word (\w) can hold


def _tolerance(word: str) -> int:
    """How many edits a word may be off and still be taken for an indexed one (a swap of two
    neighbouring letters is one edit): none up to two letters, one up to five, else two."""
    return 0 if len(word) < 3 else 1 if len(word) < 6 else 2


# Where a query word is found: slices [start, end) of the index's sorted word list, by how
# far the spelling that found them is from the word as typed (0: the word itself, the words
# it starts, its synonyms; more: a corrected spelling), nearest first.
Ranges = list[tuple[int, int]]
Levels = list[tuple[int, Ranges]]


class _SearchIndex:
    """Built once per snapshot: every distinct word of the names and categories (case
    folded), sorted, with the services (positions in `services`) that hold it in their name
    and in their category. A query word matches the words it starts, a `bisect` range of the
    sorted list. The words are taken from the one that holds the fewest services on, and
    each next word only filters the services found so far: a search reads the posting lists
    of its words once and builds no set larger than the rarest word's.

    A word that matches nothing (or words that match nothing together) is corrected: the
    indexed words within `_tolerance` edits of it stand for it, looked up as if typed. Only
    words with its first letter and a length within reach are compared (rapidfuzz, in C), one
    slice of the letters-only words sorted by first letter and length: a correction never
    reads the whole list. A typo in the first letter is left uncorrected."""

    def __init__(self, services: tuple[Service, ...]) -> None:
        self._services = services
        in_names: dict[str, list[int]] = defaultdict(list)
        in_categories: dict[str, list[int]] = defaultdict(list)
        category_words: dict[str, set[str]] = {}  # many services share a category
        for position, service in enumerate(services):
            for word in set(_words(service.name)):
                in_names[word].append(position)
            words = category_words.get(service.category)
            if words is None:
                words = category_words[service.category] = set(
                    _words(" ".join(service.category_path))
                )
            for word in words:
                in_categories[word].append(position)
        self._words = sorted(in_names.keys() | in_categories.keys())
        nowhere: list[int] = []
        self._in_names = [in_names.get(w, nowhere) for w in self._words]
        self._in_categories = [in_categories.get(w, nowhere) for w in self._words]
        # Postings before each word: the size of a range without reading it.
        self._before = list(
            accumulate(
                (len(n) + len(c) for n, c in zip(self._in_names, self._in_categories, strict=True)),
                initial=0,
            )
        )
        # Numbers and codes are never typos of each other: only words of letters are, sorted
        # by first letter and length, with where each (letter, length) starts and ends.
        self._spellings = sorted(
            (w for w in self._words if w.isalpha() and len(w) > 1),
            key=lambda w: (w[0], len(w), w),
        )
        self._spans: dict[tuple[str, int], tuple[int, int]] = {}
        for position, word in enumerate(self._spellings):
            start, _ = self._spans.get((word[0], len(word)), (position, position))
            self._spans[word[0], len(word)] = (start, position + 1)
        self._stems: dict[str, list[str]] = defaultdict(list)
        for stem in SYNONYMS:
            if _tolerance(stem):
                self._stems[stem[0]].append(stem)
        # Ties on score go to the shorter name, then the smaller id: one number per service.
        by_length = sorted(
            range(len(services)), key=lambda p: (len(services[p].name), services[p].id)
        )
        self._tie_rank = [0] * len(services)
        for rank, position in enumerate(by_length):
            self._tie_rank[position] = rank

    def _ranges(self, alternatives: Iterable[str]) -> Ranges:
        """The slices of the word list that start with one of `alternatives`."""
        found: Ranges = []
        for prefix in alternatives:
            start = bisect_left(self._words, prefix)
            end = bisect_left(self._words, prefix + _BEYOND, start)
            if start < end:
                found.append((start, end))
        return found

    def _size(self, levels: Levels) -> int:
        """How many postings `levels` has (a service holding two of its words counts twice)."""
        before = self._before
        return sum(before[end] - before[start] for _, ranges in levels for start, end in ranges)

    def _postings(self, levels: Levels, *, categories: bool = True) -> Iterator[int]:
        """The services holding a word of `levels` in the name (and, unless told otherwise, in
        the category), with repeats: read once, in C, without building a set."""
        tables = (self._in_names, self._in_categories) if categories else (self._in_names,)
        slices = (
            table[start:end] for table in tables for _, ranges in levels for start, end in ranges
        )
        return chain.from_iterable(chain.from_iterable(slices))

    def _nearest(self, word: str) -> list[tuple[str, int]]:
        """The indexed words and synonym stems within `_tolerance` edits of `word`, with their
        distance (optimal string alignment: a swap of neighbours is one edit). A stem is
        compared with the word's start, give or take a letter: "подпищики" is "подписчик"."""
        reach = _tolerance(word)
        if not reach or not word.isalpha():
            return []
        spans = [
            self._spans[key]
            for length in range(len(word) - reach, len(word) + reach + 1)
            if (key := (word[0], length)) in self._spans
        ]
        near = []
        if spans:
            near = [
                (spelling, int(distance))
                for spelling, distance, _ in process.extract(
                    word,
                    self._spellings[spans[0][0] : spans[-1][1]],
                    scorer=OSA.distance,
                    score_cutoff=reach,
                    limit=NEAREST_SPELLINGS,
                )
            ]
        for stem in self._stems.get(word[0], ()):
            allowed = _tolerance(stem)
            distance = min(
                OSA.distance(stem, word[:length], score_cutoff=allowed)
                for length in range(len(stem) - 1, len(stem) + 2)
            )
            if distance <= allowed:
                near.append((stem, distance))
        # The word itself, or a stem it starts with, is matched as typed already.
        return [(spelling, distance) for spelling, distance in near if distance]

    def _corrected(self, word: str) -> Levels:
        """Where `word`'s nearest spellings are found, each looked up as if typed."""
        by_distance: dict[int, list[str]] = defaultdict(list)
        for spelling, distance in self._nearest(word):
            by_distance[distance].extend(_alternatives(spelling))
        levels = [(d, self._ranges(by_distance[d])) for d in sorted(by_distance)]
        return [(distance, ranges) for distance, ranges in levels if ranges]

    def _every(self, matches: Iterable[Levels]) -> set[int]:
        """The services that hold every word, from the rarest word on; the first word that
        leaves none stops it."""
        rarest, *others = sorted(matches, key=self._size)
        found = set(self._postings(rarest))
        for levels in others:
            if not found:
                break
            found = found.intersection(self._postings(levels))
        return found

    def search(self, query: Query, limit: int) -> tuple[list[Service], bool]:
        """The best `limit` services holding every word, and whether a word had to be
        corrected to find them."""
        words = [word.casefold() for word in query.words]
        if not words:
            return [], False
        matches: dict[str, Levels] = {
            word: [(0, self._ranges(_alternatives(word)))] for word in dict.fromkeys(words)
        }
        found = self._every(matches.values())
        if found:
            return self._best(words, matches, found, limit), False
        # Correct the words that match nothing; if the words still find nothing together,
        # correct every word. Each word is corrected once: at most `QUERY_WORDS` corrections.
        corrected: set[str] = set()
        for every_word in (False, True):
            widened = False
            for word, levels in list(matches.items()):
                as_typed = [(distance, ranges) for distance, ranges in levels if ranges]
                if word in corrected or (as_typed and not every_word):
                    continue
                corrected.add(word)
                nearest = self._corrected(word)
                if not nearest and not as_typed:
                    return [], False  # this word matches nothing, however it is spelt
                matches[word] = as_typed + nearest
                widened = widened or bool(nearest)
            if widened and (found := self._every(matches.values())):
                return self._best(words, matches, found, limit), True
        return [], False

    def _best(
        self, words: list[str], matches: dict[str, Levels], found: set[int], limit: int
    ) -> list[Service]:
        """The best `limit` of `found`: the fewest edits to the words first; then the most
        words found in the name rather than the category (a repeated word counts each time it
        is typed); then the shorter name, the smaller id."""
        in_name: Counter[int] = Counter()
        edits: Counter[int] = Counter()
        for word, times in Counter(words).items():
            levels = matches[word]
            named = found.intersection(self._postings(levels, categories=False))
            for _ in range(times):
                in_name.update(named)
            if len(levels) > 1:  # corrected: each service costs the edits of its nearest find
                unplaced = set(found)
                for distance, ranges in levels:
                    here = unplaced.intersection(self._postings([(distance, ranges)]))
                    unplaced -= here
                    edits.update(dict.fromkeys(here, distance * times))
        tie_rank, named_words, edited = self._tie_rank, in_name.get, edits.get
        if edits:
            best = heapq.nsmallest(
                limit, found, key=lambda p: (edited(p, 0), -named_words(p, 0), tie_rank[p])
            )
        else:
            best = heapq.nsmallest(limit, found, key=lambda p: (-named_words(p, 0), tie_rank[p]))
        return [self._services[p] for p in best]


class CatalogMemory:
    """The snapshots in memory, shared by every account's catalog: one per distinct content
    (accounts on one panel mostly see the same catalog), at most `capacity` of them. Past
    that, the least recently used is dropped; its accounts load it again from SQLite when
    next asked. Content no account's catalog names any more is dropped at once."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._held: OrderedDict[str, CatalogSnapshot] = OrderedDict()
        self._named: Counter[str] = Counter()  # digest -> the catalogs that name it

    def __len__(self) -> int:
        return len(self._held)

    def __repr__(self) -> str:
        return f"CatalogMemory({len(self)} of {self.capacity})"

    def get(self, digest: str) -> CatalogSnapshot | None:
        """The snapshot of this content, now the most recently used; None if not held."""
        snapshot = self._held.get(digest)
        if snapshot is not None:
            self._held.move_to_end(digest)
        return snapshot

    def peek(self, digest: str) -> CatalogSnapshot | None:
        """Like `get`, without counting as a use."""
        return self._held.get(digest)

    def hold(self, digest: str, build: Callable[[], CatalogSnapshot]) -> CatalogSnapshot:
        """The snapshot of this content: the one held, else the one `build` makes."""
        snapshot = self.get(digest)
        if snapshot is not None:
            return snapshot
        snapshot = self._held[digest] = build()
        while len(self._held) > self.capacity:
            self._held.popitem(last=False)
        return snapshot

    def switch(self, old: str | None, new: str) -> None:
        """One catalog moves from content `old` to `new`."""
        if old == new:
            return
        self._named[new] += 1
        if old is not None:
            self._named[old] -= 1
            if self._named[old] <= 0:
                del self._named[old]
                self._held.pop(old, None)


class Catalog:
    """The catalog of one panel account: memory first, then the SQLite cache, then the panel.

    `snapshot()` answers from memory when it can; when the catalog is older than `ttl` it
    starts one background refresh and still answers at once with what it has. The snapshot
    itself lives in the shared `CatalogMemory`, under the digest of its content."""

    def __init__(
        self,
        panel: Panel,
        db: Database,
        account: str,
        memory: CatalogMemory,
        *,
        ttl: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._panel = panel
        self._db = db
        self._account = account
        self._memory = memory
        self._ttl = ttl
        self._clock = clock
        self._digest: str | None = None
        self.fetched_at: float | None = None  # when the catalog last came from the panel
        self._refreshing: asyncio.Task[CatalogSnapshot | None] | None = None
        self._lock = asyncio.Lock()

    @property
    def in_memory(self) -> CatalogSnapshot | None:
        """What is in memory now, without touching the cache or the panel."""
        return None if self._digest is None else self._memory.peek(self._digest)

    def use(self, panel: Panel) -> None:
        """Fetch through this client from now on: the account's newest key."""
        self._panel = panel

    async def snapshot(self) -> CatalogSnapshot | None:
        """The catalog to show now; None only if it was never fetched and the panel is down."""
        current = await self._kept()
        if current is None:
            return await self.refresh(unless_fresh=True)
        if self.fetched_at is not None and self._clock() - self.fetched_at > self._ttl:
            self._refresh_in_background()
        return current

    async def _kept(self) -> CatalogSnapshot | None:
        """What this account has without asking the panel: from memory, else from SQLite."""
        current = None if self._digest is None else self._memory.get(self._digest)
        if current is None:
            async with self._lock:
                current = await self._load_cached()
        return current

    async def _load_cached(self) -> CatalogSnapshot | None:
        cached = await catalog_cache.last_fetch(self._db, self._account)
        if cached is None:
            return None
        snapshot = self._memory.get(cached.digest)
        if snapshot is None:
            services = _readable(await catalog_cache.contents(self._db, cached.digest) or [])
            if not services:
                return None
            snapshot = self._memory.hold(cached.digest, lambda: CatalogSnapshot(services))
        self._memory.switch(self._digest, cached.digest)
        self._digest, self.fetched_at = cached.digest, cached.fetched_at
        return snapshot

    async def refresh(self, *, unless_fresh: bool = False) -> CatalogSnapshot | None:
        """Fetch from the panel now; on failure (an empty list is one) keep what there is, and
        log why. Replicas fetch an account's catalog one at a time; `unless_fresh`: one that
        another replica saved within `ttl` (while this one waited, say) is taken instead."""
        async with self._db.one_at_a_time(f"catalog:{self._account}"):
            if unless_fresh and (shared := await self._shared_if_fresh()) is not None:
                return shared
            return await self._fetch()

    async def _shared_if_fresh(self) -> CatalogSnapshot | None:
        cached = await catalog_cache.last_fetch(self._db, self._account)
        if cached is None or self._clock() - cached.fetched_at > self._ttl:
            return None
        async with self._lock:
            return await self._load_cached()

    async def _fetch(self) -> CatalogSnapshot | None:
        try:
            services = await self._panel.services()
        except PanelException as exc:
            logger.warning("catalog refresh failed: %s", exc)
            return await self._kept()
        if not services:
            # A panel that sells nothing is a panel fault, not news: keep what there is (its
            # age unchanged, so it is asked again like after any failed refresh), and with
            # nothing yet, stay unloaded so the next look asks again rather than in `ttl`.
            current = await self._kept()
            logger.warning(
                "catalog refresh failed: the panel listed no services; kept the %d we have",
                0 if current is None else len(current),
            )
            return current
        kept = _first_of_each_id(services)
        wire = [s.model_dump(mode="json", by_alias=True) for s in kept]
        async with self._lock:  # two refreshes at once leave memory and SQLite agreeing
            fetched_at = self._clock()
            digest = await catalog_cache.save(self._db, self._account, wire, fetched_at)
            snapshot = self._memory.hold(digest, lambda: CatalogSnapshot(kept))
            self._memory.switch(self._digest, digest)
            self._digest, self.fetched_at = digest, fetched_at
        logger.info("catalog refreshed: %d services", len(snapshot))
        return snapshot

    def _refresh_in_background(self) -> None:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(
                self.refresh(unless_fresh=True), name="catalog-refresh"
            )

    async def close(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            self._refreshing.cancel()
            await asyncio.gather(self._refreshing, return_exceptions=True)
