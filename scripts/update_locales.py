"""Extract the bot's messages (every `_()` call) and merge them into each language's catalog.

    python scripts/update_locales.py

Writes bot/locales/messages.pot and updates bot/locales/<lang>.po, keeping
existing translations; new messages arrive untranslated (the tests then fail until they are).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).parent.parent
LOCALES = ROOT / "bot" / "locales"
LANGUAGES = ["ru"]
SOURCES = ["bot", "handlers", "webapp"]


def extract() -> Catalog:
    template = Catalog(project="smmbot", charset="utf-8")
    for source in SOURCES:
        for filename, lineno, message, comments, _context in extract_from_dir(
            ROOT / source, method_map=[("**.py", "python")], keywords={"_": None, "N_": None}
        ):
            template.add(
                message, locations=[(f"{source}/{filename}", lineno)], auto_comments=comments
            )
    return template


def main() -> None:
    template = extract()
    with (LOCALES / "messages.pot").open("wb") as out:
        write_po(out, template, omit_header=False, sort_output=True)
    for language in LANGUAGES:
        path = LOCALES / f"{language}.po"
        if path.exists():
            with path.open("rb") as existing:
                catalog = read_po(existing, locale=language)
            catalog.update(template, no_fuzzy_matching=True)
        else:
            catalog = Catalog(locale=language, project="smmbot", charset="utf-8")
            catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as out:
            write_po(out, catalog, sort_output=True, ignore_obsolete=True, include_previous=False)
        untranslated = [m.id for m in catalog if m.id and not m.string]
        print(
            f"{path.relative_to(ROOT)}: {len(catalog) - 1} messages, "
            f"{len(untranslated)} untranslated"
        )


if __name__ == "__main__":
    main()
