"""Languages: aiogram's gettext i18n with catalogs under `bot/locales/`.

English is the source language; a message without a translation is shown in English.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from storage import users
from storage.db import Database

LOCALES = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}


def compile_catalogs(folder: Path) -> dict[str, gettext.GNUTranslations]:
    """Every `<locale>.po` in `folder`, compiled in memory: nothing binary is committed and
    nothing needs a build step."""
    translations: dict[str, gettext.GNUTranslations] = {}
    for po_path in sorted(folder.glob("*.po")):
        with po_path.open("rb") as source:
            catalog = read_po(source, locale=po_path.stem)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        translations[po_path.stem] = gettext.GNUTranslations(compiled)
    return translations


def build_i18n() -> I18n:
    # aiogram's I18n looks for compiled <locale>/LC_MESSAGES/*.mo folders and finds none here;
    # the catalogs are given to it directly. (Not a subclass: aiogram finds the current I18n
    # through a context variable of the I18n class itself.)
    i18n = I18n(path=LOCALES, default_locale=DEFAULT_LOCALE, domain="messages")
    i18n.locales = compile_catalogs(LOCALES)
    return i18n


def locale_for(i18n: I18n, language: str | None) -> str:
    """A supported locale for a language code such as "ru-RU"; English otherwise."""
    code = (language or "").split("-")[0].lower()
    return code if code in i18n.available_locales else DEFAULT_LOCALE


class UserLocale(I18nMiddleware):
    """The person's own choice (/language), else their Telegram language. Choices are read
    from the database once per person and kept; `/language` updates them here too."""

    def __init__(self, i18n: I18n) -> None:
        super().__init__(i18n)
        self._choices: dict[int, str | None] = {}

    def remember(self, user_id: int, language: str | None) -> None:
        self._choices[user_id] = language

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        person: User | None = data.get("event_from_user")
        if person is None:
            return DEFAULT_LOCALE
        if person.id not in self._choices:
            db: Database = data["db"]
            stored = await users.get(db, person.id)
            self._choices[person.id] = stored.language if stored else None
        return locale_for(self.i18n, self._choices[person.id] or person.language_code)
