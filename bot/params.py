"""What `add` needs for a service, as fields a person fills in: a service's `params` with their
`valid` rules read into checks, and `values` into choices.

Two rule forms are documented: "number from A to B" and "value need to consist of : X and Y
or Z and W" (every fragment of at least one alternative). Anything else is shown to the person
as a hint and left to the panel to judge.

A "consist of" rule made of links (`https://www.instagram.com and /p/`) makes a link field.
A link is taken as people paste it (without `https://`, as an @handle, from a phone's mobile
site, with tracking parameters, inside a shared text) and tidied, but only into a value the
rule accepts. Fragments are matched exactly, case included: no value is sent that the rule,
read to the letter, refuses.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from aiogram.utils.i18n import gettext as _

from bot.formatting import number, short
from bot.smmlaba import Service, ServiceParam

_NUMBER_RULE = re.compile(r"number\s+from\s+(-?\d+)\s+to\s+(-?\d+)", re.IGNORECASE)
_CONSIST_RULE = re.compile(r"consist\s+of\s*:?\s*(.+)", re.IGNORECASE | re.DOTALL)
_MULTILINE_HINTS = ("comment", "line", "строк", "коммент", "каждый с новой")
# How many lines a multi-line field takes: "from 5 to 500 comments", "от 5 до 500 строк"
# (not "from 5 to 300 characters", which is each line's length).
_LINES_RULE = re.compile(
    r"(?:from|от)\s+([0-9]+)\s+(?:to|до)\s+([0-9]+)\s+"
    r"(?:comments?|lines?|строк|комментари[йяев])",
    re.IGNORECASE,
)
_PRESETS = (100, 500, 1000, 5000, 10000, 50000)
# Telegram shows a message of up to 4096 characters; a value has to fit in one.
MAX_VALUE_LENGTH = 4000

# "10000", "10,000" and "10 000" are the same number (phones put narrow spaces in too);
# "1,5" is not a whole one.
_WHOLE = re.compile(r"[+-]?(?:[0-9]{1,3}(?:[ ,\u00a0\u202f][0-9]{3})+|[0-9]+)")
_SEPARATOR = re.compile(r"[ ,\u00a0\u202f]")
_FRACTION = re.compile(r"[+-]?[0-9][0-9 ,.\u00a0\u202f]*[.,][0-9]+")
_DIGIT = re.compile(r"[0-9]")

_URL = re.compile(r"([a-z][a-z0-9+.-]*)://([^/?#\s]*)(.*)", re.IGNORECASE | re.DOTALL)
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?=[/?#:]|$)", re.IGNORECASE)
_HANDLE = re.compile(r"@([A-Za-z0-9_]{3,32})(/[0-9]+)?")
_SENTENCE_END = ".,;:!?»\"'"
# One site under several hosts: the mobile site, and names it has had.
_HOST_PREFIXES = ("www.", "m.", "mobile.")
_ALIASES = {
    "telegram.me": "t.me",
    "t.me": "telegram.me",
    "twitter.com": "x.com",
    "x.com": "twitter.com",
}
# Parameters that say who shared a link and how, never what it points to.
_TRACKING = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "yclid", "msclkid", "mibextid",
        "igshid", "igsh", "si", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "ref_src", "ref_url",
    }
)  # fmt: skip
# ... and those that do so on one site only ("t" elsewhere is a video's start time).
_TRACKING_ON = {
    "youtube.com": frozenset({"feature", "pp"}),
    "youtu.be": frozenset({"feature"}),
    "x.com": frozenset({"s", "t"}),
    "twitter.com": frozenset({"s", "t"}),
    "tiktok.com": frozenset({"_r", "_t", "is_from_webapp", "sender_device", "web_id"}),
}


class FieldKind(StrEnum):
    CHOICE = "choice"
    NUMBER = "number"
    FRAGMENTS = "fragments"
    TEXT = "text"


class InvalidValue(ValueError):
    """Why a typed value cannot be sent, in one line for the person, in their language
    (checks run inside a handler, where the person's locale is set)."""


def usual_label(param: str) -> str | None:
    """The bot's own word for a param most services share, in the person's language; any
    other param is called what the panel calls it."""
    return {"url": _("Link"), "count": _("Quantity"), "comments": _("Comments")}.get(param)


@dataclass(frozen=True)
class FieldSpec:
    param: str
    panel_label: str  # the panel's name for it, which its refusals may quote
    required: bool
    kind: FieldKind
    rule: str  # the panel's own words
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    alternatives: tuple[tuple[str, ...], ...] = ()
    multiline: bool = False

    @property
    def label(self) -> str:
        return usual_label(self.param) or self.panel_label

    @classmethod
    def from_param(cls, param: ServiceParam) -> FieldSpec:
        label, rule = param.name.strip() or param.param, param.valid.strip()

        def make(kind: FieldKind, **details: object) -> FieldSpec:
            return cls(param.param, label, param.required, kind, rule, **details)  # type: ignore[arg-type]

        if param.values:
            return make(FieldKind.CHOICE, choices=param.values)
        if match := _NUMBER_RULE.search(rule):
            low, high = sorted((int(match[1]), int(match[2])))
            return make(FieldKind.NUMBER, low=low, high=high)
        if match := _CONSIST_RULE.search(rule):
            alternatives = tuple(
                fragments
                for alternative in re.split(r"\s+or\s+", match[1].strip(), flags=re.IGNORECASE)
                if (fragments := tuple(f.strip() for f in re.split(r"\s+and\s+", alternative)))
                and all(fragments)
            )
            if alternatives:
                return make(FieldKind.FRAGMENTS, alternatives=alternatives)
        hints = f"{param.param} {param.name} {rule}".casefold()
        if not any(hint in hints for hint in _MULTILINE_HINTS):
            return make(FieldKind.TEXT)
        if match := _LINES_RULE.search(rule):
            low, high = sorted((int(match[1]), int(match[2])))
            return make(FieldKind.TEXT, multiline=True, low=low, high=high)
        return make(FieldKind.TEXT, multiline=True)

    @property
    def is_quantity(self) -> bool:
        return self.param == "count" and self.kind is FieldKind.NUMBER

    @property
    def presets(self) -> tuple[int, ...]:
        """Amounts offered as buttons for a quantity: its minimum and the round amounts people
        order most, within the range (at most five)."""
        if not self.is_quantity or self.low is None or self.high is None:
            return ()
        low, high = max(self.low, 1), self.high
        round_ones = (n for n in _PRESETS if low < n <= high)
        return tuple(dict.fromkeys((low, *round_ones)))[:5] if low <= high else ()

    @property
    def is_link(self) -> bool:
        """The rule is made of links: what is typed is tidied as a link."""
        return bool(self._links)

    def check(self, text: str) -> str:
        """The value to send for what the person typed, or `InvalidValue` saying in one line
        what is wrong with it."""
        value = text if self.multiline else text.strip()
        if not value.strip():
            raise InvalidValue(_("{label} can't be empty.").format(label=self.label))
        if len(value) > MAX_VALUE_LENGTH:
            raise InvalidValue(
                _("{label} is too long (at most {limit} characters).").format(
                    label=self.label, limit=number(MAX_VALUE_LENGTH)
                )
            )
        if self.kind is FieldKind.CHOICE:
            return self._choice(value)
        if self.kind is FieldKind.NUMBER:
            return self._whole_number(value)
        if self.kind is FieldKind.FRAGMENTS:
            return self._fragments(value)
        if self.multiline:
            return self._lines(value)
        return value

    def _lines(self, value: str) -> str:
        """One item per line, as many as the rule allows: blank lines are left out."""
        lines = [line.strip() for line in value.splitlines() if line.strip()]
        if self.low is not None and len(lines) < self.low:
            raise InvalidValue(
                _("That's {count} lines; at least {low} are needed, one per line.").format(
                    count=number(len(lines)), low=number(self.low)
                )
            )
        if self.high is not None and len(lines) > self.high:
            raise InvalidValue(
                _("That's {count} lines; at most {high} are taken, one per line.").format(
                    count=number(len(lines)), high=number(self.high)
                )
            )
        return "\n".join(lines)

    def describe_fragments(self) -> str:
        return " or ".join(" and ".join(alt) for alt in self.alternatives)

    # -- choices and numbers -----------------------------------------------------------------

    def _choice(self, value: str) -> str:
        typed = _plain(value)
        for choice in self.choices:
            if _plain(choice) == typed:
                return choice
        raise InvalidValue(_("That's not one of the choices: tap a button below."))

    def _whole_number(self, value: str) -> str:
        low, high = self.low or 0, self.high or 0
        if _WHOLE.fullmatch(value):
            amount = int(_SEPARATOR.sub("", value))
            shown = short(number(amount), 24)
            if amount < low:
                raise InvalidValue(
                    _("{value} is below the minimum of {low}.").format(value=shown, low=number(low))
                )
            if amount > high:
                raise InvalidValue(
                    _("{value} is above the maximum of {high}.").format(
                        value=shown, high=number(high)
                    )
                )
            return str(amount)
        if _FRACTION.fullmatch(value):
            raise InvalidValue(_("{value} isn't a whole number.").format(value=short(value, 24)))
        if _DIGIT.search(value):
            raise InvalidValue(_("Please send digits only."))
        raise InvalidValue(_("That's not a number."))

    # -- links ---------------------------------------------------------------------------------

    def _fits(self, value: str) -> bool:
        return any(all(f in value for f in alt) for alt in self.alternatives)

    def _fragments(self, value: str) -> str:
        candidates = self._link_candidates(value) if self.is_link else [value]
        for candidate in candidates:
            if self._fits(candidate):
                return candidate
        if self.is_link:
            raise InvalidValue(self._link_problem(candidates[0]))
        raise InvalidValue(
            _("{label} must contain {parts}.").format(
                label=self.label, parts=self.describe_fragments()
            )
        )

    @cached_property
    def _links(self) -> tuple[_Link, ...]:
        """The rule's fragments that are links or their start, in the rule's order."""
        return tuple(
            link
            for alternative in self.alternatives
            for fragment in alternative
            if (link := _Link.parse(fragment)) is not None
        )

    @cached_property
    def _rule_text(self) -> str:
        return " ".join(fragment for alternative in self.alternatives for fragment in alternative)

    @cached_property
    def sites(self) -> tuple[str, ...]:
        """The sites a link may point to, as people name them: `instagram.com`, `youtu.be`."""
        found = list(dict.fromkeys(_site(link.host) for link in self._links if link.host))
        return tuple(
            s for s in found if not any(_on_site(s, other) for other in found if other != s)
        )

    @cached_property
    def example(self) -> str | None:
        """A link the rule takes, "…" where the person's part goes: the first alternative
        that names a site, its fragments in order (`https://www.instagram.com/p/…`)."""
        for alternative in self.alternatives:
            links = (_Link.parse(fragment) for fragment in alternative)
            first = next((link for link in links if link is not None and link.host), None)
            if first is None:
                continue
            text, added = first.with_scheme(), ""
            for fragment in alternative:
                if fragment in text:
                    continue
                if not added and not first.rest:  # straight after the host: the path goes on
                    text += fragment if fragment.startswith(("/", "?", "#")) else "/" + fragment
                else:  # after a path, the person's part first: …/video/
                    text += "…" + fragment
                added = fragment
            # A closing word ("…bot") ends the example; anything else is followed by theirs.
            return text if added.isalnum() else text + "…"
        return None

    def _link_candidates(self, value: str) -> list[str]:
        """What `value` may stand for as a link, the most tidied first; the last is `value`
        itself, as typed."""
        pasted = _pasted_link(value)
        handle = _HANDLE.fullmatch(pasted)
        starts = self._handle_links(handle[1], handle[2] or "") if handle else [pasted]
        found: list[str] = []
        for start in starts:
            link = _Link.parse(start)
            if link is None:
                found.append(start)
                continue
            scheme, host = (link.scheme or "https").lower(), link.host.lower()
            schemes = (scheme, "https") if scheme == "http" else (scheme,)
            rests = (_without_tracking(host, link.rest, self._rule_text), link.rest)
            for other in (host, *self._hosts_like(host)):
                found.extend(f"{s}://{other}{rest}" for s in schemes for rest in rests)
        found.append(value)
        return list(dict.fromkeys(found))

    def _handle_links(self, handle: str, post: str) -> list[str]:
        """An @handle as the rule's links to it: t.me/handle, or a site's `/@handle`."""
        links = []
        for link in self._links:
            if _site(link.host) in ("t.me", "telegram.me"):
                links.append(f"https://t.me/{handle}{post}")
            elif link.host and link.rest.endswith("/@"):
                links.append(f"{link.with_scheme()}{handle}{post}")
        return links or [f"@{handle}{post}"]

    def _hosts_like(self, host: str) -> list[str]:
        """The rule's other hosts for the site of `host`: www.youtube.com for m.youtube.com,
        t.me for telegram.me."""
        site = _site(host)
        names = {site, _ALIASES.get(site, site)}
        return [
            link.host
            for link in self._links
            if link.host.lower() != host and _site(link.host) in names
        ]

    def _link_problem(self, value: str) -> str:
        """Why `value`, tidied, is not a link the rule takes."""
        link = _Link.parse(value)
        if link is None or not link.scheme or not link.host:
            return self._not_a_link()
        host = link.host.lower()
        if not any(_on_site(host, site) for site in self.sites):
            return self._not_a_link()

        def missing(alternative: tuple[str, ...]) -> list[str]:
            return [fragment for fragment in alternative if fragment not in value]

        def on_host(alternative: tuple[str, ...]) -> bool:
            hosts = (found.host.lower() for f in alternative if (found := _Link.parse(f)))
            return host in hosts

        # Of the alternatives for this very host (a www. and a bare one may differ), the one
        # the link comes closest to says what it lacks.
        closest = min(
            [alternative for alternative in self.alternatives if on_host(alternative)]
            or self.alternatives,
            key=lambda alternative: len(missing(alternative)),
        )
        parts = ", ".join(_after_host(fragment, host) for fragment in missing(closest))
        return _("That link doesn't contain {parts}.").format(parts=parts)

    def _not_a_link(self) -> str:
        if not self.sites:
            return _("That's not a link.")
        return _("That's not a link to {sites}.").format(sites=", ".join(self.sites))


@dataclass(frozen=True)
class _Link:
    """A link, or the start of one, cut where tidying needs it."""

    scheme: str  # "" when it has none ("instagram.com/p/")
    host: str
    rest: str  # the path, query and #fragment

    @classmethod
    def parse(cls, text: str) -> _Link | None:
        if match := _URL.fullmatch(text):
            return cls(match[1], match[2], match[3])
        if match := _DOMAIN.match(text):
            return cls("", match[0], text[match.end() :])
        return None

    def with_scheme(self) -> str:
        return f"{self.scheme or 'https'}://{self.host}{self.rest}"


def _plain(text: str) -> str:
    """A choice as compared: without case, and ❤ the same as ❤️ (keyboards type either)."""
    return text.replace("\ufe0f", "").casefold()


def _site(host: str) -> str:
    """The site a host belongs to, as people name it: `m.youtube.com` → `youtube.com`."""
    host = host.lower()
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            return host[len(prefix) :]
    return host


def _on_site(host: str, site: str) -> bool:
    """`host` is `site` or one of its own: vm.tiktok.com is on tiktok.com."""
    name = _site(host)
    return name == site or name.endswith("." + site)


def _pasted_link(text: str) -> str:
    """The link in a shared text ("Look! https://…"): its one word that is a link, without
    the sentence's punctuation; any other text as it is."""
    words = text.split()
    links = [word for word in words if _URL.match(word)]
    if len(words) > 1 and len(links) == 1:
        return links[0].rstrip(_SENTENCE_END)
    return text


def _without_tracking(host: str, rest: str, rule: str) -> str:
    """A link's path, query and #fragment without the query's tracking parameters, but for
    those the `rule`'s words name (`?si=`)."""
    before, hash_, anchor = rest.partition("#")
    path, question, query = before.partition("?")
    if not question:
        return rest
    site = _site(host)
    extra = next((names for name, names in _TRACKING_ON.items() if _on_site(site, name)), None)

    def tracking(pair: str) -> bool:
        name = pair.partition("=")[0]
        if f"{name}=" in rule:
            return False
        name = name.lower()
        return name.startswith("utm_") or name in _TRACKING or (extra is not None and name in extra)

    kept = [pair for pair in query.split("&") if pair and not tracking(pair)]
    return path + ("?" + "&".join(kept) if kept else "") + hash_ + anchor


def _after_host(fragment: str, host: str) -> str:
    """A missing fragment as the person needs to read it: on the link's own host, only what
    comes after the host (`/p/`, not `https://www.instagram.com/p/`)."""
    link = _Link.parse(fragment)
    if link is not None and link.host.lower() == host and link.rest:
        return link.rest
    return fragment


def fields_of(service: Service) -> list[FieldSpec]:
    return [_spec_of(param) for param in service.params]


@functools.lru_cache(maxsize=16384)
def _spec_of(param: ServiceParam) -> FieldSpec:
    """Read once per param: lists and cards read every service's fields for its unit."""
    return FieldSpec.from_param(param)


def amount_range(service: Service) -> tuple[int, int] | None:
    for spec in fields_of(service):
        if spec.is_quantity and spec.low is not None and spec.high is not None:
            return spec.low, spec.high
    return None


def quantity(service: Service, values: dict[str, str]) -> int | None:
    """How many units the order buys: its `count`, or one per line of a multi-line field."""
    specs = fields_of(service)
    for spec in specs:
        if spec.is_quantity and values.get(spec.param, "").isdigit():
            return int(values[spec.param])
    for spec in specs:
        if spec.multiline and values.get(spec.param):
            return len([line for line in values[spec.param].splitlines() if line.strip()])
    return None


def total(service: Service, values: dict[str, str]) -> Decimal | None:
    units = quantity(service, values)
    return None if units is None else service.price.total(units)


def most_affordable(
    service: Service, values: dict[str, str], funds: Decimal
) -> tuple[str, int] | None:
    """The quantity field and the largest amount within its range that `funds` pay for, the
    other values as given; None when the service has no quantity or not even its minimum is
    paid for."""
    spec = next((spec for spec in fields_of(service) if spec.is_quantity), None)
    if spec is None or spec.low is None or spec.high is None:
        return None

    def affordable(amount: int) -> bool:
        cost = total(service, {**values, spec.param: str(amount)})
        return cost is not None and cost <= funds

    low, high = max(spec.low, 1), spec.high
    if low > high or not affordable(low):
        return None
    while low < high:  # the price grows with the amount: the last one paid for
        middle = (low + high + 1) // 2
        if affordable(middle):
            low = middle
        else:
            high = middle - 1
    return spec.param, low
