"""Several links at once: the lines a person sends, read into orders of one service.

A service takes several links when what it needs is a link and an amount (other fields, if
any, optional). Each line is a link, optionally followed by its own amount (`link 500`); the
lines without one take the amount asked for next. Every line is checked as the order form
checks a value, so nothing is sent that the form would refuse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiogram.utils.i18n import gettext as _

from bot.formatting import number
from bot.params import FieldSpec, InvalidValue, fields_of
from bot.smmlaba import Service

MOST_LINES = 50
# A link (one word) and an amount after it: "500", or grouped as people type it ("2 500",
# "1,000"); grouping makes "…/p/abc 2 500" one link and 2,500, never "…abc 2" and 500.
_AMOUNT_AT_END = re.compile(r"^(\S+)\s+([0-9]{1,3}(?:[ ,\u00a0\u202f][0-9]{3})+|[0-9]+)$")


@dataclass(frozen=True, slots=True)
class LinkFields:
    link: FieldSpec
    amount: FieldSpec


@dataclass(frozen=True, slots=True)
class Line:
    link: str
    amount: int | None  # None: the amount for the rest


def link_fields(service: Service) -> LinkFields | None:
    """The link and amount fields, when they are all a service requires."""
    specs = fields_of(service)
    links = [s for s in specs if s.is_link]
    amounts = [s for s in specs if s.is_quantity]
    if len(links) != 1 or len(amounts) != 1:
        return None
    others = [s for s in specs if s not in (links[0], amounts[0])]
    if any(s.required for s in others):
        return None
    return LinkFields(links[0], amounts[0])


def read_lines(text: str, fields: LinkFields) -> tuple[list[Line], list[str]]:
    """The lines as orders, and what is wrong with the others ("Line 3: …"), in the person's
    language. Blank lines are left out."""
    lines, problems = [], []
    typed = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(typed) > MOST_LINES:
        problems.append(
            _("That's {count} links; at most {most} at a time.").format(
                count=number(len(typed)), most=number(MOST_LINES)
            )
        )
        return [], problems
    for at, line in typed:
        link_text, amount_text = line, None
        if (split := _AMOUNT_AT_END.match(line)) is not None:
            link_text, amount_text = split[1], split[2]
        try:
            link = fields.link.check(link_text)
            amount = None if amount_text is None else int(fields.amount.check(amount_text))
        except InvalidValue as exc:
            problems.append(_("Line {n}: {problem}").format(n=at, problem=exc))
            continue
        lines.append(Line(link, amount))
    return lines, problems
