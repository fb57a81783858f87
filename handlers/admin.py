"""Admin commands (ADMIN_IDS only): /stats, /refresh_catalog, /parked. Anyone else is told
they are not available."""

from __future__ import annotations

import time
from typing import Any

from aiogram import Router
from aiogram.filters import Command, Filter
from aiogram.types import Message, User
from aiogram.utils.i18n import gettext as _

from bot.accounts import Accounts
from bot.catalog import Catalog
from bot.config import Settings
from bot.formatting import duration, masked_email, number, quote, short, utc_time
from bot.tracker import Tracker
from handlers import texts
from storage import orders, outbox, users
from storage.db import Database
from storage.orders import OrderState
from storage.outbox import OutboxStatus

SHOWN = 10
ADMIN_COMMANDS = ("stats", "refresh_catalog", "parked")


class IsAdmin(Filter):
    async def __call__(self, _event: Any, event_from_user: User, settings: Settings) -> bool:
        return event_from_user.id in settings.admin_ids


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(stats, Command("stats"), IsAdmin())
    router.message.register(refresh_catalog, Command("refresh_catalog"), IsAdmin())
    router.message.register(parked, Command("parked"), IsAdmin())
    router.message.register(not_available, Command(*ADMIN_COMMANDS))
    return router


async def not_available(message: Message) -> None:
    await message.answer(_("This command is not available."))


async def stats(message: Message, db: Database, accounts: Accounts, tracker: Tracker) -> None:
    active, inactive = await users.count_by_activity(db)
    linked = await users.count_linked(db)
    by_state = await orders.count_by_state(db)
    by_status = await outbox.count_by_status(db)
    lines = [
        _("📊 <b>Stats</b>"),
        _(
            "👥 Users: {active} active, {inactive} blocked the bot, {linked} with their own account"
        ).format(active=number(active), inactive=number(inactive), linked=number(linked)),
        _("📦 Orders: {states}").format(states=order_states(by_state)),
        _("📮 Notifications: {pending} pending, {parked} parked").format(
            pending=number(by_status.get(OutboxStatus.PENDING, 0)),
            parked=number(by_status.get(OutboxStatus.PARKED, 0)),
        ),
        panel_health(accounts, tracker),
        *catalog_ages(accounts),
    ]
    await message.answer("\n".join(lines))


def order_states(by_state: dict[OrderState, int]) -> str:
    if not by_state:
        return _("none yet")
    return ", ".join(
        f"{texts.state_name(state)} {number(count)}" for state, count in sorted(by_state.items())
    )


def panel_health(accounts: Accounts, tracker: Tracker) -> str:
    health = accounts.health
    if health.down_since is not None:
        line = _("🩺 Panel: ⚠️ not answering since {since} UTC ({cause})").format(
            since=utc_time(health.down_since), cause=quote(short(health.last_failure or "", 120))
        )
    elif health.last_success_at is not None:
        line = _("🩺 Panel: answering, last answer {ago} ago").format(
            ago=duration(time.time() - health.last_success_at)
        )
    else:
        line = _("🩺 Panel: not asked anything yet")
    if tracker.breaker.is_open:
        line += "\n" + _("⏸ Tracking paused by the circuit breaker until {at} UTC").format(
            at=utc_time(tracker.breaker.retry_at)
        )
    else:
        line += "\n" + _("▶️ Tracking: running")
    return line


def catalog_ages(accounts: Accounts) -> list[str]:
    """The operator's catalog, then what all catalogs hold in memory: one line per linked
    account would not fit a message once many people have linked theirs."""
    lines = []
    operator = accounts.operator
    if operator is not None:
        account = quote(masked_email(operator.name))
        snapshot = operator.catalog.in_memory
        if snapshot is None or operator.catalog.fetched_at is None:
            lines.append(_("📚 Catalog of {account}: not loaded").format(account=account))
        else:
            lines.append(
                _("📚 Catalog of {account}: {count} services, fetched {ago} ago").format(
                    account=account,
                    count=number(len(snapshot)),
                    ago=duration(time.time() - operator.catalog.fetched_at),
                )
            )
    memory = accounts.catalog_memory
    lines.append(
        _("🧠 Catalogs in memory: {held} of at most {capacity}, for {accounts} accounts").format(
            held=number(len(memory)),
            capacity=number(memory.capacity),
            accounts=number(len(accounts.catalogs())),
        )
    )
    return lines


async def refresh_catalog(message: Message, accounts: Accounts) -> None:
    """Fetch every catalog the bot holds now, instead of waiting for it to age: the
    operator's with its own line, the linked accounts' counted in one."""
    catalogs = accounts.catalogs()
    if not catalogs:
        await message.answer(_("There is no panel account to fetch a catalog with."))
        return
    lines = []
    operator = accounts.operator
    if operator is not None:
        lines.append(await _refresh_one(operator.name, operator.catalog))
        catalogs.pop(operator.name, None)
    if catalogs:
        refreshed = 0
        for catalog in catalogs.values():
            before = catalog.fetched_at
            await catalog.refresh()
            refreshed += catalog.fetched_at != before
        line = _("✅ Catalogs of linked accounts refreshed: {refreshed} of {count}.").format(
            refreshed=number(refreshed), count=number(len(catalogs))
        )
        if refreshed < len(catalogs):
            line += " " + _("SMMLaba didn't answer for the others; they keep what they had.")
        lines.append(line)
    await message.answer("\n".join(lines))


async def _refresh_one(name: str, catalog: Catalog) -> str:
    before = catalog.fetched_at
    after = await catalog.refresh()
    account = quote(masked_email(name))
    if after is not None and catalog.fetched_at != before:
        return _("✅ Catalog of {account} refreshed: {count} services.").format(
            account=account, count=number(len(after))
        )
    if after is None or catalog.fetched_at is None:
        return _("⚠️ SMMLaba isn't answering: the catalog of {account} is still empty.").format(
            account=account
        )
    return _("⚠️ SMMLaba isn't answering: kept the catalog of {account} from {ago} ago.").format(
        account=account, ago=duration(time.time() - catalog.fetched_at)
    )


async def parked(message: Message, db: Database) -> None:
    """Notifications that kept failing and were set aside, newest first."""
    rows = await outbox.with_status(db, OutboxStatus.PARKED, limit=SHOWN)
    if not rows:
        await message.answer(_("No parked notifications."))
        return
    lines = [_("📮 Parked notifications (newest {count}):").format(count=len(rows))]
    for row in rows:
        error = quote(short(row.last_error or "", 80))
        lines.append(f"#{row.id} · user {row.user_id} · {row.attempts}× · {error}")
    await message.answer("\n".join(lines))
