"""Languages: aiogram's gettext i18n with catalogs under `bot/locales/`.

English is the source language; a message without a translation is shown in English.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware

LOCALES = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"


def build_i18n() -> I18n:
    return I18n(path=LOCALES, default_locale=DEFAULT_LOCALE, domain="messages")


class UserLocale(I18nMiddleware):
    """The locale of the person who sent the update, from their Telegram language."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        code = (user.language_code or "") if user else ""
        language = code.split("-")[0].lower()
        if language in self.i18n.available_locales:
            return language
        return DEFAULT_LOCALE
