"""Catalogs in memory: accounts that see the same catalog share one snapshot, and past
`CATALOGS_IN_MEMORY` distinct ones the least recently used is dropped and read again from
SQLite when next needed, without asking the panel."""

from __future__ import annotations

import secrets

from bot.accounts import Accounts
from bot.catalog import Catalog, CatalogMemory
from bot.sandbox.catalog import builtin_catalog
from bot.sandbox.panel import Account, SandboxPanel
from bot.sandbox.telegram import SimulatedUser
from bot.smmlaba import SmmLabaClient
from storage.db import Database
from tests.conftest import BotFactory
from tests.harness import BotHarness

ADMIN = 42


async def connect(user: SimulatedUser, account: Account) -> None:
    await user.send("/connect")
    await user.send(account.username)
    await user.send(account.api_key)
    assert "✅ Linked" in user.last_message.text


async def platforms(user: SimulatedUser) -> list[str]:
    await user.send("/start")
    await user.press("🛒 New order")
    return user.last_message.button_labels


def catalog_of(harness: BotHarness, user_id: int) -> Catalog:
    account = accounts(harness).linked(user_id)
    assert account is not None
    return account.catalog


def accounts(harness: BotHarness) -> Accounts:
    assert harness.services is not None
    return harness.services.accounts


async def test_accounts_that_see_one_catalog_hold_it_once(make_bot: BotFactory) -> None:
    harness = make_bot(operator=None, access="open", admin_ids=frozenset({ADMIN}))
    shared = [
        harness.panel.add_account(f"user{n}@example.com", secrets.token_hex(16)) for n in range(3)
    ]
    own = harness.panel.add_account("own@example.com", secrets.token_hex(16))
    own.catalog = builtin_catalog()[:5]  # priced for this account alone
    async with harness.running():
        people = [harness.user(801 + n, f"User{n}") for n in range(4)]
        for person, account in zip(people, [*shared, own], strict=True):
            await connect(person, account)
        menus = [await platforms(person) for person in people]
        assert menus[0] == menus[1] == menus[2] != menus[3]
        assert harness.panel_calls("services") == 4  # each account asks for its own

        snapshots = [catalog_of(harness, 801 + n).in_memory for n in range(4)]
        assert snapshots[0] is not None
        assert snapshots[0] is snapshots[1] is snapshots[2]
        assert snapshots[3] is not snapshots[0]
        assert len(accounts(harness).catalog_memory) == 2

        admin = harness.user(ADMIN, "Admin")
        await admin.send("/stats")
        assert "🧠 Catalogs in memory: 2 of at most 8, for 4 accounts" in admin.last_message.text

        harness.panel.set_catalog(builtin_catalog()[:20])
        await admin.send("/refresh_catalog")
        assert admin.last_message.text == "✅ Catalogs of linked accounts refreshed: 4 of 4."
        assert catalog_of(harness, 801).in_memory is catalog_of(harness, 803).in_memory
        assert len(accounts(harness).catalog_memory) == 2  # the old shared one is gone


async def test_the_least_recently_used_catalog_is_dropped_and_read_again_from_the_cache(
    make_bot: BotFactory,
) -> None:
    harness = make_bot(operator=None, access="open", catalogs_in_memory=2)
    catalogs = [builtin_catalog()[:5], builtin_catalog()[5:15], builtin_catalog()[15:30]]
    panel_accounts = []
    for n, catalog in enumerate(catalogs):
        account = harness.panel.add_account(f"user{n}@example.com", secrets.token_hex(16))
        account.catalog = catalog
        panel_accounts.append(account)
    async with harness.running():
        people = [harness.user(801 + n, f"User{n}") for n in range(3)]
        for person, account in zip(people, panel_accounts, strict=True):
            await connect(person, account)
        first_menus = [await platforms(person) for person in people]
        assert harness.panel_calls("services") == 3
        assert len(accounts(harness).catalog_memory) == 2
        assert catalog_of(harness, 801).in_memory is None  # the least recently used
        assert catalog_of(harness, 803).in_memory is not None

        # The first person comes back: their catalog is read from SQLite, not the panel, and
        # the second person's, now the least recently used, makes room for it.
        assert await platforms(people[0]) == first_menus[0]
        await people[0].press(first_menus[0][0])
        assert people[0].last_message.button_labels  # its categories
        assert harness.panel_calls("services") == 3
        assert catalog_of(harness, 801).in_memory is not None
        assert catalog_of(harness, 802).in_memory is None
        assert len(accounts(harness).catalog_memory) == 2

        await harness.restart()  # and the cache outlives the process
        assert [await platforms(person) for person in people] == first_menus
        assert harness.panel_calls("services") == 3


async def test_a_failed_refresh_keeps_a_catalog_dropped_from_memory(
    panel: SandboxPanel, client: SmmLabaClient, db: Database
) -> None:
    memory = CatalogMemory(1)
    catalog = Catalog(client, db, "alice", memory)
    first = await catalog.snapshot()
    assert first is not None
    panel.set_catalog(builtin_catalog()[:3])
    assert await Catalog(client, db, "other", memory).snapshot() is not None
    assert catalog.in_memory is None  # made room for the other one

    panel.set_faults(html_rate=1.0)
    kept = await catalog.refresh()
    assert kept is not None
    assert [s.id for s in kept.services] == [s.id for s in first.services]
    assert catalog.in_memory is kept
