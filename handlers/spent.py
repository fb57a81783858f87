"""/spent: what the person's orders cost this month, by platform, and the last twelve months
as a bar chart (a picture: `bot.charts`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, User
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.catalog import Catalog
from bot.charts import Month, monthly_bars
from bot.config import Settings
from bot.formatting import current_locale, money, number, quote
from handlers import keyboards, screens
from handlers.callbacks import Menu
from handlers.screens import Event
from storage import orders
from storage.db import Database
from storage.orders import Order, OrderState

MONTHS = 12
# The panel gives their money back: they cost nothing.
RETURNED = frozenset({OrderState.CANCELLED, OrderState.REFUNDED})


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(spent, Command("spent"))
    router.callback_query.register(spent, Menu.filter(F.to == "spent"))
    return router


def last_months(today: dt.date, count: int = MONTHS) -> list[tuple[int, int]]:
    """(year, month) of the `count` months up to this one, oldest first."""
    year, month = today.year, today.month
    months = []
    for _step in range(count):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def cost(order: Order) -> Decimal | None:
    """What an order took from the balance: the panel's charge, else the confirmed total, less
    what a partial delivery gave back (the undelivered share); None for one whose money came
    back, that was never taken, or that was placed on the website (when, the panel does not
    say: the bot knows only when it was asked to follow it)."""
    if order.panel_order_id is None or order.state in RETURNED or order.placed_on_website:
        return None
    paid = order.charged if order.charged is not None else order.total
    if paid is None or order.state is not OrderState.PARTIAL:
        return paid
    if not order.quantity or order.remain is None:
        return paid
    delivered = max(0, min(order.quantity, order.quantity - order.remain))
    return paid * delivered / order.quantity


async def spent(
    event: Event,
    event_from_user: User,
    db: Database,
    catalog: Catalog | None,
    settings: Settings,
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    months = last_months(today)
    first = dt.datetime(*months[0], 1, tzinfo=dt.UTC).timestamp()
    by_month: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    this_month: dict[str, tuple[int, Decimal]] = {}
    snapshot = await catalog.snapshot() if catalog is not None else None
    for order in await orders.placed_since(db, event_from_user.id, first):
        amount = cost(order)
        if amount is None:
            continue
        when = dt.datetime.fromtimestamp(order.created_at, dt.UTC)
        by_month[(when.year, when.month)] += amount
        if (when.year, when.month) == months[-1]:
            service = snapshot.by_id(order.service_id) if snapshot is not None else None
            found = snapshot.location(service) if snapshot and service else None
            platform = found[0].name if found else _("Other")
            count, total = this_month.get(platform, (0, Decimal(0)))
            this_month[platform] = (count + 1, total + amount)
    currency = settings.panel_currency
    month_name = format_date(today, "LLLL y", locale=current_locale())
    lines = [_("📊 <b>Spent in {month}</b>").format(month=quote(month_name))]
    if this_month:
        count = sum(c for c, _t in this_month.values())
        total = sum((t for _c, t in this_month.values()), Decimal(0))
        lines.append(orders_and_money(count, total, currency))
        for platform, (c, t) in sorted(this_month.items(), key=lambda item: -item[1][1]):
            lines.append(f"• {quote(platform)}: {orders_and_money(c, t, currency)}")
    else:
        lines.append(_("No orders this month."))
    lines.append(
        _(
            "Not counted: cancelled and refunded orders (their money comes back), and orders "
            "tracked from the website (the panel doesn't say when they were placed)."
        )
    )
    await screens.show(event, "\n".join(lines), keyboards.to_menu())
    year_total = sum(by_month.values(), Decimal(0))
    if not year_total or event.bot is None:
        return
    # Drawing takes tens of milliseconds: off the event loop.
    chart = await asyncio.to_thread(
        monthly_bars, [Month(y, m, by_month[(y, m)]) for y, m in months]
    )
    caption = _("📊 The last 12 months: {total} in all").format(
        total=quote(money(year_total, currency))
    )
    await event.bot.send_photo(
        event_from_user.id, BufferedInputFile(chart, "spent.png"), caption=caption
    )


def orders_and_money(count: int, total: Decimal, currency: str) -> str:
    return _("Orders: {count} · {total}").format(
        count=number(count), total=quote(money(total, currency))
    )
