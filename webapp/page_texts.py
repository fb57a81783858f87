"""The page's words, in the person's language: sent with the catalog, translated with the
chat's catalogs (`bot/locales`)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _


def texts() -> dict[str, str]:
    """Every word the page shows but the catalog's and the form's own, by key."""
    return {
        "catalog": _("🛍 Catalog"),
        "orders": _("📦 My orders"),
        "back": _("⬅️ Back"),
        "search": _("Search: a service, a site, a link…"),
        "nothing_found": _("Nothing found. Try other words, or browse the catalog."),
        "approximate": _("No exact match; these come closest."),
        "changed": _("The price or the rules of this service changed. Check the form again."),
        "services": _("{count} services"),
        "sort": _("Sort"),
        "sort_price": _("Cheapest first"),
        "sort_price_desc": _("Dearest first"),
        "sort_min": _("Smallest minimum first"),
        "sort_max": _("Largest maximum first"),
        "sort_name": _("By name"),
        "max_price": _("Price per 1,000 at most"),
        "amount": _("Amount I need"),
        "min": _("min {amount}"),
        "max": _("max {amount}"),
        "optional": _("optional"),
        "total": _("Total"),
        "balance": _("Balance"),
        "short": _("The balance doesn't cover this order. Top it up on the panel first."),
        "order": _("Order"),
        "ordering": _("Sending…"),
        "placed": _("✅ Order placed. The chat has its card and will tell you how it goes."),
        "already": _("This order was already sent."),
        "uncertain": _(
            "⚠️ The panel didn't say whether it took the order. Check it on the panel before "
            "ordering again; the chat will tell you what the bot learns."
        ),
        "rejected": _("The panel refused the order: {reason}"),
        "no_orders": _("No orders yet."),
        "loading": _("Loading…"),
        "failed": _("Something went wrong. Please try again."),
        "lines": _("one per line"),
    }
