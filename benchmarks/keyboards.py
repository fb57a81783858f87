"""What building a keyboard costs: the platform menu as `handlers.keyboards` builds it (plain
`InlineKeyboardMarkup` rows), against the same menu from aiogram's `InlineKeyboardBuilder`.
Prints one JSON line last.

    python -m benchmarks.keyboards [--runs 2000]
"""

from __future__ import annotations

import argparse
import json
import timeit

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.catalog import CatalogSnapshot
from bot.i18n import build_i18n
from bot.sandbox.catalog import builtin_catalog
from bot.smmlaba import Service
from handlers import keyboards
from handlers.callbacks import Menu, Noop, PlatformPage, Platforms


def with_builder(snapshot: CatalogSnapshot, page: int) -> InlineKeyboardMarkup:
    shown, page, total = keyboards.page_of(snapshot.platforms, page)
    menu = InlineKeyboardBuilder()
    for platform in shown:
        menu.button(
            text=keyboards.label(f"{platform.name} ({platform.service_count})"),
            callback_data=PlatformPage(platform=platform.key),
        )
    menu.adjust(2)
    pager = InlineKeyboardBuilder()
    pager.button(text=f"{page + 1}/{total}", callback_data=Noop())
    pager.button(text="▶️", callback_data=Platforms(page=page + 1))
    menu.attach(pager)
    back = InlineKeyboardBuilder()
    back.button(text=_("⬅️ Back"), callback_data=Menu(to="home"))
    back.button(text=_("✖️ Cancel"), callback_data=Menu(to="home"))
    menu.attach(back)
    return menu.as_markup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2000)
    runs = parser.parse_args().runs
    snapshot = CatalogSnapshot([Service.model_validate(s) for s in builtin_catalog()])
    i18n = build_i18n()
    with i18n.context(), i18n.use_locale("en"):
        same = keyboards.platforms(snapshot, 0) == with_builder(snapshot, 0)
        rows = timeit.timeit(lambda: keyboards.platforms(snapshot, 0), number=runs) / runs
        built = timeit.timeit(lambda: with_builder(snapshot, 0), number=runs) / runs
    print(
        json.dumps(
            {
                "keyboard": "platform menu, first page",
                "same_markup": same,
                "rows_us": round(rows * 1e6, 1),
                "builder_us": round(built * 1e6, 1),
                "builder_over_rows": round(built / rows, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
