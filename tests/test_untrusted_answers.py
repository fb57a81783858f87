"""Answers that must not be trusted: an empty catalog, numbers beyond any sane size, forged
buttons and panel ids with HTML in them. Each is refused or shown literally, the bot carries
on, and Telegram refuses nothing it sent (see the `harness` fixture)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.catalog import Catalog, CatalogMemory
from bot.sandbox.catalog import builtin_catalog
from bot.sandbox.panel import SandboxPanel
from bot.smmlaba import SmmLabaClient
from bot.tracker import TrackerConfig
from storage import catalog as catalog_cache
from storage import orders
from storage.db import Database
from storage.orders import OrderState
from tests.conftest import BotFactory
from tests.flows import place_order
from tests.harness import BotHarness
from tests.helpers import FAST_NOTIFIER, eventually, finished, press_service

HUGE = "9" * 30


# The built-in catalog lists two ids twice, like the real one; a snapshot keeps one of each.
BUILTIN_IDS = {str(service["service"]) for service in builtin_catalog()}


def platform_buttons(labels: list[str]) -> list[str]:
    return [label for label in labels if label.startswith("Instagram (")]


# -- an empty catalog --------------------------------------------------------------------


async def test_an_empty_catalog_never_replaces_the_one_shown(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    await anna.press("🛒 New order")
    shown = anna.last_message.button_labels
    assert platform_buttons(shown)

    harness.panel.set_catalog([])
    assert harness.services is not None
    assert harness.services.accounts.operator is not None
    catalog = harness.services.accounts.operator.catalog
    before = catalog.in_memory
    assert await catalog.refresh() is before
    assert any(
        r.levelno == logging.WARNING and "listed no services" in r.getMessage()
        for r in caplog.records
    )

    await anna.send("/start")
    await anna.press("🛒 New order")
    assert anna.last_message.button_labels == shown
    await anna.press("Instagram")
    await anna.press("Likes")
    await press_service(anna, "Instagram Likes")
    assert "💵 RUB\u00a00.50 per 1,000" in anna.last_message.text  # the price kept

    await harness.restart()  # and the cache kept it too
    await anna.send("/start")
    await anna.press("🛒 New order")
    assert anna.last_message.button_labels == shown


async def test_after_an_empty_catalog_the_next_look_asks_again(
    panel: SandboxPanel, client: SmmLabaClient, db: Database
) -> None:
    now = [1000.0]
    catalog = Catalog(client, db, "alice", CatalogMemory(8), ttl=60, clock=lambda: now[0])
    first = await catalog.snapshot()
    assert first is not None
    assert len(first) == len(BUILTIN_IDS)

    panel.set_catalog([])
    now[0] += 120  # stale: a look answers at once and refreshes behind
    assert await catalog.snapshot() is first
    await eventually(lambda: panel.calls["services"] == 2)
    await catalog.close()
    assert catalog.in_memory is first
    cached = await catalog_cache.last_fetch(db, "alice")
    assert cached is not None
    assert len(await catalog_cache.contents(db, cached.digest) or []) == len(first)

    panel.set_catalog(builtin_catalog()[:3])
    assert await catalog.snapshot() is first  # still stale, so asked again
    await eventually(lambda: catalog.in_memory is not None and len(catalog.in_memory) == 3)
    await catalog.close()


async def test_an_empty_first_catalog_is_not_kept(
    panel: SandboxPanel, client: SmmLabaClient, db: Database
) -> None:
    # Empty and nothing yet: stay unloaded, so the next look asks again instead of serving
    # an empty catalog for a whole `ttl`.
    panel.set_catalog([])
    catalog = Catalog(client, db, "alice", CatalogMemory(8))
    assert await catalog.snapshot() is None
    assert await catalog_cache.last_fetch(db, "alice") is None
    panel.set_catalog(builtin_catalog())
    snapshot = await catalog.snapshot()
    assert snapshot is not None
    assert len(snapshot) == len(BUILTIN_IDS)
    assert panel.calls["services"] == 2


async def test_a_cached_service_the_models_now_refuse_is_dropped(
    panel: SandboxPanel, client: SmmLabaClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # Written by an older version, which took any price.
    absurd: dict[str, Any] = {**builtin_catalog()[0], "service": 999, "price": f"{HUGE} per 1"}
    await catalog_cache.save(db, "alice", [absurd, *builtin_catalog()], time.time())
    snapshot = await Catalog(client, db, "alice", CatalogMemory(8)).snapshot()
    assert snapshot is not None
    assert len(snapshot) == len(BUILTIN_IDS)
    assert snapshot.by_id("999") is None
    assert panel.calls["services"] == 0  # served from the cache
    assert any("no longer valid" in r.getMessage() for r in caplog.records)


# -- numbers beyond any sane size --------------------------------------------------------

PATIENT_TRACKING = TrackerConfig(
    base_interval=0.3,
    max_interval=1.0,
    rate_per_second=200,
    breaker_base=0.3,
    breaker_max=0.6,
    idle_poll=0.02,
)


@pytest.fixture
async def tracking(make_bot: BotFactory) -> AsyncIterator[BotHarness]:
    bot = make_bot(
        tracker=PATIENT_TRACKING,
        notifier=FAST_NOTIFIER,
        check_interval_seconds=0.05,
    )
    async with bot.running():
        yield bot


async def test_an_absurd_remain_is_refused_and_the_order_backs_off(
    tracking: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    panel = tracking.panel
    anna = tracking.user(501, "Anna")
    await place_order(anna)
    # The panel now says 10**20 were ordered and remain: no SQLite INTEGER holds that.
    panel.orders["7000000"].count = 10**20
    checks = panel.calls["check"]
    started = time.monotonic()
    await eventually(lambda: panel.calls["check"] >= checks + 2)
    await eventually(lambda: time.monotonic() - started >= 1.5)
    # Backing off (0.45 s, 0.68 s, 1 s, ...), not asked on every loop (that would be dozens).
    assert panel.calls["check"] - checks <= 5
    assert tracking.services is not None
    assert not tracking.services.tracker.breaker.is_open  # the panel answered: it is up
    [order] = await orders.list_for_user(tracking.services.db, 501, limit=1)
    assert order.remain is None or order.remain <= 1000
    assert order.next_check_at is not None  # still tracked
    assert order.quiet_checks >= 2
    assert "OverflowError" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("out of range" in r.getMessage() for r in caplog.records if r.name == "bot.tracker")

    # Once the panel answers sanely again, the order is followed to its end.
    panel.orders["7000000"].count = 1000
    panel.clock.advance(10_000)
    await eventually(lambda: finished(anna, "7000000") == 1)


# -- forged buttons ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        f"oc:{HUGE}:show",
        f"oc:{HUGE}:refresh",
        f"oc:{HUGE}:again",
        f"oc:{HUGE}:mute",
        "oc:-1:show",
        f"ol:{HUGE}",
        f"pl:{HUGE}",
    ],
)
async def test_a_forged_number_is_a_stale_button(
    harness: BotHarness, caplog: pytest.LogCaptureFixture, data: str
) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    await anna.press_data(data)
    assert anna.callback_answers[-1] == "This menu has expired"
    assert all("Something went wrong" not in m.text for m in anna.bot_messages)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "OverflowError" not in caplog.text
    await anna.press("📦 My orders")  # and the bot carries on
    assert "no orders yet" in anna.last_message.text


# -- a panel id with HTML in it ----------------------------------------------------------


async def test_a_panel_id_with_html_is_shown_literally(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    assert harness.services is not None
    db = harness.services.db
    order, _ = await orders.start_submitting(
        db,
        token="t-html",
        user_id=501,
        chat_id=501,
        account="alice",
        service_id="389",
        service_name="Instagram Likes",
        params={"url": "https://instagram.com/p/x", "count": "100"},
        quantity=100,
        total=None,
    )
    await orders.mark_placed(
        db, "t-html", panel_order_id="<b>42 & co", charged=None, next_check_at=time.time() + 3600
    )

    await anna.send("/orders")
    listing = anna.last_message
    [line] = [line for line in listing.text.splitlines() if line.startswith("#<b>42 & co · ")]
    assert "Instagram Likes" in line
    assert "#<b>42 & co" in listing.button_labels  # a button label is plain text: no &amp;
    await anna.press("#<b>42 & co")
    card = anna.last_message
    assert card.text.startswith("📦 Order #<b>42 & co\n")
    assert "&amp;" not in card.text
    stored = await orders.get_for_user(db, 501, order.id)
    assert stored is not None
    assert stored.state is OrderState.PLACED
