"""Every button's callback data, in one place. Keys are short (Telegram allows 64 bytes) and
resolve through the catalog or the database; what no longer resolves is a stale button."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class Menu(CallbackData, prefix="m"):
    """Main-menu destinations: home, new, orders, search, balance, help."""

    to: str


class Platforms(CallbackData, prefix="pl"):
    page: int = 0


class PlatformPage(CallbackData, prefix="p"):
    platform: str
    page: int = 0


class CategoryPage(CallbackData, prefix="c"):
    platform: str
    category: str
    page: int = 0


class ServiceCard(CallbackData, prefix="s"):
    service: str


class OrderService(CallbackData, prefix="o"):
    service: str


class Step(CallbackData, prefix="w"):
    """Inside the wizard: back, cancel, skip, pick (choice `index`), change, field (`index`),
    keep (the current value)."""

    action: str
    index: int = 0


class Confirm(CallbackData, prefix="ok"):
    token: str


class OrdersPage(CallbackData, prefix="ol"):
    page: int = 0


class OrderCard(CallbackData, prefix="oc"):
    """`action`: show, refresh, again, mute, unmute."""

    order: int
    action: str = "show"


class Noop(CallbackData, prefix="n"):
    """A label that only shows something, like the page counter."""


class NotifySetting(CallbackData, prefix="ns"):
    """`mode`: all (every change) or final (completion and failures)."""

    mode: str


class LanguageChoice(CallbackData, prefix="lang"):
    """`code`: a locale such as "ru", or "auto" to follow Telegram's language."""

    code: str


class Link(CallbackData, prefix="ln"):
    """Linking one's own panel account: connect, email (start over with another e-mail),
    account, disconnect (asks), unlink (confirmed)."""

    action: str
