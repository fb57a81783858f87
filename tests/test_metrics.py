"""The metrics, read as Prometheus reads them (`Metrics.exposition`, parsed by the library's own
parser): the real bot on the Telegram emulator and the sandbox panel, a person ordering, the
tracker checking, the panel failing and healing."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Update
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from bot.metrics import Metrics
from bot.smmlaba import PanelError, PanelProtocolError, PanelUnavailable, SmmLabaClient
from handlers.middlewares import CountUpdates
from storage import orders, outbox
from storage.orders import OrderState
from storage.outbox import Notification
from tests.conftest import ALICE, FAST_RETRY, BotFactory, CannedPanel
from tests.flows import place_order
from tests.harness import BotHarness
from tests.helpers import eventually

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

# Every label the bot's own metrics may carry: none names a person, an order or an account.
LABEL_NAMES = {"type", "outcome", "reason", "action", "result", "state", "le"}


async def scrape(metrics: Metrics) -> Samples:
    body, content_type = await metrics.exposition()
    assert content_type.startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample; a KeyError if it is not exposed at all."""
    return samples[(name, frozenset(labels.items()))]


def services_of(harness: BotHarness) -> Metrics:
    assert harness.services is not None
    return harness.services.metrics


async def test_an_order_its_tracking_and_its_messages_are_counted(tracking: BotHarness) -> None:
    metrics = services_of(tracking)
    anna = tracking.user(501, "Anna")
    await place_order(anna)
    samples = await scrape(metrics)
    # /start, the link, the amount; New order, platform, category, service, Order this, Confirm.
    assert value(samples, "smmbot_updates_total", type="message", outcome="handled") == 3
    assert value(samples, "smmbot_updates_total", type="callback_query", outcome="handled") == 6
    for kind in ("message", "callback_query"):
        assert value(samples, "smmbot_updates_total", type=kind, outcome="error") == 0
        assert value(samples, "smmbot_updates_total", type=kind, outcome="ignored") == 0
    assert value(samples, "smmbot_update_duration_seconds_count", type="message") == 3
    assert value(samples, "smmbot_update_duration_seconds_count", type="callback_query") == 6
    assert value(samples, "smmbot_panel_requests_total", action="add", result="ok") == 1
    assert value(samples, "smmbot_panel_requests_total", action="balance", result="ok") == 1
    assert value(samples, "smmbot_panel_requests_total", action="services", result="ok") == 1
    assert value(samples, "smmbot_panel_request_duration_seconds_count", action="add") == 1
    # "Placed", told in the confirmation, which became the order's card: an edit.
    assert value(samples, "smmbot_notifications_total", result="edited") == 1
    assert value(samples, "smmbot_notifications_total", result="sent") == 0

    async def checked_pending() -> bool:
        samples = await scrape(metrics)
        return value(samples, "smmbot_orders", state="pending") == 1

    await eventually(checked_pending)
    samples = await scrape(metrics)
    assert value(samples, "smmbot_tracker_checks_total", result="ok") >= 1
    assert value(samples, "smmbot_panel_requests_total", action="check", result="ok") >= 1
    assert value(samples, "smmbot_orders", state="placed") == 0

    # The order ends: its card is edited, and the message saying so gets a 429 once, then
    # goes out.
    tracking.emulator.fail_next("sendMessage", 429, retry_after=1)
    tracking.panel.clock.advance(10_000)

    async def told() -> bool:
        samples = await scrape(metrics)
        return (
            value(samples, "smmbot_notifications_total", result="sent") == 1
            and value(samples, "smmbot_notifications_total", result="edited") == 2
        )

    await eventually(told)
    samples = await scrape(metrics)
    assert value(samples, "smmbot_notifications_total", result="rate_limited") == 1
    assert value(samples, "smmbot_notifications_total", result="failed") == 0
    assert value(samples, "smmbot_outbox_pending") == 0
    assert value(samples, "smmbot_outbox_oldest_pending_age_seconds") == 0
    assert tracking.services is not None
    [order] = await orders.list_for_user(tracking.services.db, 501, limit=1)
    assert order.state.is_final
    for state in OrderState:
        expected = 1 if state is order.state else 0
        assert value(samples, "smmbot_orders", state=state.value) == expected, state
    for name, labels in samples:
        assert {label for label, _ in labels} <= LABEL_NAMES, (name, labels)


async def test_a_panel_outage_is_counted_and_the_breaker_shows_it(tracking: BotHarness) -> None:
    metrics = services_of(tracking)
    anna = tracking.user(501, "Anna")
    await place_order(anna)  # an order to track, so the tracker meets the outage
    samples = await scrape(metrics)
    assert value(samples, "smmbot_tracker_breaker_open") == 0
    assert value(samples, "smmbot_panel_down_seconds") == 0

    tracking.panel.set_faults(html_rate=1.0)
    await anna.send("/test")
    assert "isn't answering" in anna.last_message.text
    samples = await scrape(metrics)
    # A read is tried three times (RetryPolicy); each attempt is a request.
    assert value(samples, "smmbot_panel_requests_total", action="test", result="unavailable") == 3
    assert value(samples, "smmbot_panel_requests_total", action="test", result="ok") == 0
    assert value(samples, "smmbot_panel_request_duration_seconds_count", action="test") == 3

    async def breaker_is(state: float) -> bool:
        return value(await scrape(metrics), "smmbot_tracker_breaker_open") == state

    await eventually(lambda: breaker_is(1))
    samples = await scrape(metrics)
    assert value(samples, "smmbot_tracker_checks_total", result="unavailable") >= 3
    assert value(samples, "smmbot_panel_requests_total", action="check", result="unavailable") >= 3
    assert value(samples, "smmbot_panel_down_seconds") > 0

    tracking.panel.set_faults()
    await anna.send("/test")
    assert "isn't answering" not in anna.last_message.text
    await eventually(lambda: breaker_is(0))
    samples = await scrape(metrics)
    assert value(samples, "smmbot_panel_requests_total", action="test", result="ok") == 1
    assert value(samples, "smmbot_panel_requests_total", action="test", result="unavailable") == 3
    assert value(samples, "smmbot_panel_down_seconds") == 0
    assert value(samples, "smmbot_updates_total", type="message", outcome="handled") == 5
    assert value(samples, "smmbot_updates_total", type="message", outcome="error") == 0


async def test_the_outbox_gauges_read_the_messages_not_yet_sent(harness: BotHarness) -> None:
    metrics = services_of(harness)
    assert harness.services is not None
    db = harness.services.db
    await harness.user(501, "Anna").send("/start")  # her users row
    samples = await scrape(metrics)
    assert value(samples, "smmbot_outbox_pending") == 0
    assert value(samples, "smmbot_outbox_oldest_pending_age_seconds") == 0

    queued_at = time.time() - 600
    notification = Notification("metrics-test", 501, 501, "order_status", {})
    async with db.transaction() as tx:  # never due: the notifier leaves it alone
        await outbox.add_in(tx, notification, queued_at)
        await tx.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE dedupe_key = ?",
            (time.time() + 3600, "metrics-test"),
        )
    samples = await scrape(metrics)
    scraped_by = time.time()
    assert value(samples, "smmbot_outbox_pending") == 1
    age = value(samples, "smmbot_outbox_oldest_pending_age_seconds")
    assert 600 <= age <= scraped_by - queued_at

    message = await outbox.get(db, "metrics-test")
    assert message is not None
    await outbox.mark_sent(db, message.id)
    samples = await scrape(metrics)
    assert value(samples, "smmbot_outbox_pending") == 0
    assert value(samples, "smmbot_outbox_oldest_pending_age_seconds") == 0


async def test_the_operators_catalog_age_is_infinite_until_it_is_fetched(
    make_bot: BotFactory,
) -> None:
    harness = make_bot()
    harness.panel.set_faults(html_rate=1.0, actions=["services"])
    async with harness.running():
        metrics = services_of(harness)
        samples = await scrape(metrics)
        assert value(samples, "smmbot_catalog_age_seconds") == math.inf
        assert value(samples, "smmbot_catalog_snapshots") == 0
        assert value(samples, "smmbot_catalog_snapshots_capacity") == 8
        assert value(samples, "smmbot_panel_requests_total", action="services", result="ok") == 0
        harness.panel.set_faults()
        anna = harness.user(501, "Anna")
        await anna.send("/start")
        await anna.press("🛒 New order")  # the catalog is fetched for her
        samples = await scrape(metrics)
        assert 0 <= value(samples, "smmbot_catalog_age_seconds") < math.inf
        assert value(samples, "smmbot_catalog_snapshots") == 1
        assert value(samples, "smmbot_panel_requests_total", action="services", result="ok") == 1


async def test_without_an_operator_there_is_no_catalog_age(personal: BotHarness) -> None:
    samples = await scrape(services_of(personal))
    assert not any(name == "smmbot_catalog_age_seconds" for name, _ in samples)
    assert value(samples, "smmbot_catalog_snapshots") == 0


async def test_throttled_and_refused_updates_are_counted_as_dropped(make_bot: BotFactory) -> None:
    harness = make_bot(throttle_burst=3, throttle_per_second=0.001)
    async with harness.running():
        anna, stranger = harness.user(501, "Anna"), harness.user(31337, "Stranger")
        for _ in range(5):
            await anna.send("/help")
        await stranger.send("/start")
        assert "This bot is private" in stranger.last_message.text
        samples = await scrape(services_of(harness))
    assert value(samples, "smmbot_updates_dropped_total", reason="throttled") == 2
    assert value(samples, "smmbot_updates_dropped_total", reason="no_access") == 1
    # Dropped or not, each update went through the dispatcher once.
    assert value(samples, "smmbot_updates_total", type="message", outcome="handled") == 6


def message_update(update_id: int, kind: str = "message") -> Update:
    message = {
        "message_id": update_id,
        "date": 0,
        "chat": {"id": 501, "type": "private"},
        "from": {"id": 501, "is_bot": False, "first_name": "Anna"},
        "text": "hello",
    }
    return Update.model_validate({"update_id": update_id, kind: message})


async def test_an_update_is_counted_as_handled_ignored_or_error() -> None:
    metrics = Metrics()
    count = CountUpdates(metrics)

    async def handled(_event: Any, _data: dict[str, Any]) -> Any:
        return None

    async def ignored(_event: Any, _data: dict[str, Any]) -> Any:
        return UNHANDLED

    async def failing(_event: Any, _data: dict[str, Any]) -> Any:
        raise RuntimeError("a handler's bug")

    await count(handled, message_update(1), {})
    await count(ignored, message_update(2), {})
    await count(ignored, message_update(3), {})
    with pytest.raises(RuntimeError):
        await count(failing, message_update(4), {})
    await count(handled, message_update(5, "edited_message"), {})
    samples = await scrape(metrics)
    assert value(samples, "smmbot_updates_total", type="message", outcome="handled") == 1
    assert value(samples, "smmbot_updates_total", type="message", outcome="ignored") == 2
    assert value(samples, "smmbot_updates_total", type="message", outcome="error") == 1
    assert value(samples, "smmbot_update_duration_seconds_count", type="message") == 4
    # A type the bot does not expect gets its series when first seen.
    assert value(samples, "smmbot_updates_total", type="edited_message", outcome="handled") == 1
    # Without `read_at_scrape` only what is counted in memory is exposed.
    assert not any(name.startswith("smmbot_orders") for name, _ in samples)


async def test_each_panel_answer_is_counted_by_action_and_result(
    canned: tuple[CannedPanel, str],
) -> None:
    stub, url = canned
    metrics = Metrics()
    async with SmmLabaClient(
        ALICE, SecretStr("k" * 32), url=url, timeout=2.0, retry=FAST_RETRY, metrics=metrics
    ) as client:
        stub.reply('{"result": "success", "message": {"balance": "12.50"}}')
        await client.balance()
        stub.reply('{"result": "error", "error": "Not enough funds"}')
        with pytest.raises(PanelError):
            await client.balance()
        stub.reply('{"result": "success", "message": {"balance": "plenty"}}')
        with pytest.raises(PanelProtocolError):
            await client.balance()
        stub.reply('{"result": "perhaps"}')
        with pytest.raises(PanelProtocolError):
            await client.check("7000000")
        stub.reply("<html>Bad gateway</html>", status=502)
        with pytest.raises(PanelUnavailable):
            await client.test()
        stub.reply('{"result": "success", "message": {"no": "order id"}}')
        with pytest.raises(PanelProtocolError):
            await client.add("1", {"link": "https://example.com", "count": "100"})
    samples = await scrape(metrics)
    counted = {
        (dict(labels)["action"], dict(labels)["result"]): n
        for (name, labels), n in samples.items()
        if name == "smmbot_panel_requests_total" and n
    }
    assert counted == {
        ("balance", "ok"): 1,
        ("balance", "refused"): 1,
        ("balance", "malformed"): 1,  # the envelope said success; the balance is no number
        ("check", "malformed"): 1,  # no envelope result the client knows
        ("test", "unavailable"): 3,  # retried, each attempt a request
        ("add", "malformed"): 1,  # never retried
    }
    assert sum(counted.values()) == len(stub.received)
    for action, requests in (("balance", 3), ("check", 1), ("test", 3), ("add", 1)):
        timed = value(samples, "smmbot_panel_request_duration_seconds_count", action=action)
        assert timed == requests, action
