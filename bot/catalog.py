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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

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

    def search(self, query: str | Query, limit: int = 20) -> list[Service]:
        """Services whose name or category holds every word of `query` (a word matches the
        start of a word, in any case; Russian words also match their English synonyms), best
        first: matches in the name before matches in the category, then shorter names. Only
        the query's first words count (see `Query`)."""
        if isinstance(query, str):
            query = Query.parse(query)
        return self._index.search(query, limit)


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


def _alternatives(word: str) -> tuple[str, ...]:
    found = [word]
    for stem, english in SYNONYMS.items():
        if word.startswith(stem) or (len(word) >= 3 and stem.startswith(word)):
            found.extend(english)
    return tuple(found)


@dataclass(frozen=True)
class Query:
    """The words a search uses: at most `QUERY_WORDS` of them, from the first `QUERY_CHARS`
    characters, so one long message costs what a short one does. `shortened` says words were
    left out. `words` are as typed (to show them); the search folds their case."""

    words: tuple[str, ...]
    shortened: bool = False

    @classmethod
    def parse(cls, text: str) -> Query:
        words: list[str] = []
        # finditer is lazy: a 4,000-character message is read only up to the first word
        # past the limits.
        for match in _WORD.finditer(text):
            if len(words) == QUERY_WORDS or match.end() > QUERY_CHARS:
                return cls(tuple(words), shortened=True)
            words.append(match.group())
        return cls(tuple(words))


_BEYOND = "\U0010ffff"  # sorts after every character a word (\w) can hold


class _SearchIndex:
    """Built once per snapshot: every distinct word of the names and categories (case
    folded), sorted, with the services (positions in `services`) that hold it in their name
    and in their category. A query word matches the words it starts, a `bisect` range of the
    sorted list, so a search reads only the services that hold every query word."""

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
        # Ties on score go to the shorter name, then the smaller id: one number per service.
        by_length = sorted(
            range(len(services)), key=lambda p: (len(services[p].name), services[p].id)
        )
        self._tie_rank = [0] * len(services)
        for rank, position in enumerate(by_length):
            self._tie_rank[position] = rank

    def _holding(self, alternatives: tuple[str, ...]) -> tuple[set[int], set[int]]:
        """The services with a word starting with one of `alternatives`: in the name, and in
        the category."""
        names: set[int] = set()
        categories: set[int] = set()
        for prefix in alternatives:
            start = bisect_left(self._words, prefix)
            end = bisect_left(self._words, prefix + _BEYOND, start)
            names.update(*self._in_names[start:end])
            categories.update(*self._in_categories[start:end])
        return names, categories

    def search(self, query: Query, limit: int) -> list[Service]:
        words = [word.casefold() for word in query.words]
        if not words:
            return []
        looked_up: dict[str, tuple[set[int], set[int]]] = {}
        for word in words:
            if word not in looked_up:
                looked_up[word] = self._holding(_alternatives(word))
        # The services that hold every word, from the rarest word on.
        holding = sorted((names | categories for names, categories in looked_up.values()), key=len)
        found = holding[0].intersection(*holding[1:])
        if not found:
            return []
        # A word found in the name scores 2, in the category only 1; a repeated word counts
        # each time it is typed.
        in_name: Counter[int] = Counter()
        for word in words:
            in_name.update(looked_up[word][0] & found)
        tie_rank = self._tie_rank
        best = heapq.nsmallest(limit, found, key=lambda p: (-in_name[p], tie_rank[p]))
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
            return await self.refresh()
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

    async def refresh(self) -> CatalogSnapshot | None:
        """Fetch from the panel now; on failure (an empty list is one) keep what there is, and
        log why."""
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
            self._refreshing = asyncio.create_task(self.refresh(), name="catalog-refresh")

    async def close(self) -> None:
        if self._refreshing is not None and not self._refreshing.done():
            self._refreshing.cancel()
            await asyncio.gather(self._refreshing, return_exceptions=True)
