"""Metrics in the Prometheus text format, in a registry of their own (never the library's
global one). Counters and histograms are bumped where things happen: the update middleware
(`handlers.middlewares.CountUpdates`), the panel client, the tracker, the notifier. Gauges are
read when scraped: SQL for orders and the outbox, memory for the breaker and the catalogs.

Labels take values from short fixed lists only (an update's type, a panel action, a result, an
order state): never a person, an order or an account, whose numbers grow without bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.process_collector import ProcessCollector

from storage import orders, outbox
from storage.orders import OrderState

if TYPE_CHECKING:
    from bot.accounts import Accounts
    from bot.tracker import Tracker
    from storage.db import Database

PanelResult = Literal["ok", "refused", "unavailable", "malformed"]
TrackerResult = Literal["ok", "refused", "malformed", "unavailable", "no_panel"]
NotifyResult = Literal["sent", "edited", "rate_limited", "blocked", "failed", "parked"]
DropReason = Literal["throttled", "no_access"]

PANEL_ACTIONS = ("test", "balance", "check", "add", "services")
PANEL_RESULTS: tuple[PanelResult, ...] = ("ok", "refused", "unavailable", "malformed")
TRACKER_RESULTS: tuple[TrackerResult, ...] = (
    "ok",
    "refused",
    "malformed",
    "unavailable",
    "no_panel",
)
NOTIFY_RESULTS: tuple[NotifyResult, ...] = (
    "sent",
    "edited",
    "rate_limited",
    "blocked",
    "failed",
    "parked",
)
DROP_REASONS: tuple[DropReason, ...] = ("throttled", "no_access")
# The update types the bot's routers handle; any other gets its series when first seen.
UPDATE_TYPES = ("message", "callback_query")

# A screen answers in milliseconds; Confirm waits for the panel's `add` (up to its timeout).
UPDATE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
PANEL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0)


@dataclass(frozen=True, slots=True)
class UpdateMeter:
    """The series of one update type, resolved once: counting an update is then two
    increments, without a label lookup."""

    handled: Counter
    ignored: Counter
    failed: Counter
    seconds: Histogram


class Metrics:
    """Every metric of one bot process, and its text exposition."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        ProcessCollector(registry=registry)  # memory, CPU, open files of this process
        self._updates = Counter(
            "smmbot_updates",
            "Telegram updates by type and outcome: handled, ignored (no handler took it), "
            "error (a handler raised; the error handler answered)",
            ["type", "outcome"],
            registry=registry,
        )
        self._update_seconds = Histogram(
            "smmbot_update_duration_seconds",
            "Time to handle an update, from the person's lock taken to the conversation saved",
            ["type"],
            buckets=UPDATE_BUCKETS,
            registry=registry,
        )
        self._update_meters: dict[str, UpdateMeter] = {}
        for kind in UPDATE_TYPES:
            self.update_meter(kind)
        dropped = Counter(
            "smmbot_updates_dropped",
            "Updates refused before any handler (throttled, or from someone without access); "
            "smmbot_updates counts them as handled too",
            ["reason"],
            registry=registry,
        )
        self._dropped = {reason: dropped.labels(reason) for reason in DROP_REASONS}
        self._requests = requests = Counter(
            "smmbot_panel_requests",
            "Requests to the panel (each attempt of a retried read counts) by action and result: "
            "ok, refused (result: error), unavailable (transport failure, timeout, HTTP 5xx, "
            "no JSON envelope), malformed (an answer of the wrong shape)",
            ["action", "result"],
            registry=registry,
        )
        self._panel_requests = {
            (action, result): requests.labels(action, result)
            for action in PANEL_ACTIONS
            for result in PANEL_RESULTS
        }
        self._request_seconds = panel_seconds = Histogram(
            "smmbot_panel_request_duration_seconds",
            "Time of a panel request, waiting for a connection included",
            ["action"],
            buckets=PANEL_BUCKETS,
            registry=registry,
        )
        self._panel_seconds = {action: panel_seconds.labels(action) for action in PANEL_ACTIONS}
        checks = Counter(
            "smmbot_tracker_checks",
            "The tracker's checks of orders by result (no_panel: the order's account is gone)",
            ["result"],
            registry=registry,
        )
        self._checks = {result: checks.labels(result) for result in TRACKER_RESULTS}
        notifications = Counter(
            "smmbot_notifications",
            "Attempts to send a queued message: sent, rate_limited (429), blocked (403), failed "
            "(to be retried), parked (given up, for an admin)",
            ["result"],
            registry=registry,
        )
        self._notifications = {result: notifications.labels(result) for result in NOTIFY_RESULTS}
        self._storage: _StorageGauges | None = None

    # -- counting ------------------------------------------------------------------------

    def update_meter(self, kind: str) -> UpdateMeter:
        """The series of updates of type `kind` (as aiogram names it: "message", ...)."""
        meter = self._update_meters.get(kind)
        if meter is None:
            meter = self._update_meters[kind] = UpdateMeter(
                handled=self._updates.labels(kind, "handled"),
                ignored=self._updates.labels(kind, "ignored"),
                failed=self._updates.labels(kind, "error"),
                seconds=self._update_seconds.labels(kind),
            )
        return meter

    def dropped(self, reason: DropReason) -> None:
        self._dropped[reason].inc()

    def panel_request(self, action: str, result: PanelResult, seconds: float) -> None:
        counted = self._panel_requests.get((action, result))
        if counted is None:  # an action not listed here: counted all the same
            counted = self._panel_requests[(action, result)] = self._requests.labels(action, result)
        counted.inc()
        timed = self._panel_seconds.get(action)
        if timed is None:
            timed = self._panel_seconds[action] = self._request_seconds.labels(action)
        timed.observe(seconds)

    def checked(self, result: TrackerResult) -> None:
        self._checks[result].inc()

    def notified(self, result: NotifyResult) -> None:
        self._notifications[result].inc()

    # -- read when scraped ---------------------------------------------------------------

    def read_at_scrape(self, db: Database, accounts: Accounts, tracker: Tracker) -> None:
        """What the gauges read: SQLite (by `exposition`), the tracker's breaker, the panel's
        health and the catalogs (when the registry is collected). Called once."""
        if self._storage is not None:
            raise RuntimeError("Metrics.read_at_scrape is called once")
        registry = self.registry
        self._storage = _StorageGauges(db, registry)
        breaker = tracker.breaker
        Gauge(
            "smmbot_tracker_breaker_open",
            "1 while the tracker's circuit breaker is open: checks paused after failures in a "
            "row, one probe at a time",
            registry=registry,
        ).set_function(lambda: 1.0 if breaker.is_open else 0.0)
        health = accounts.health
        Gauge(
            "smmbot_panel_down_seconds",
            "How long every panel request has been failing; 0 while the panel answers",
            registry=registry,
        ).set_function(health.down_for)
        memory = accounts.catalog_memory
        Gauge(
            "smmbot_catalog_snapshots",
            "Distinct catalogs held in memory (accounts that see the same catalog share one)",
            registry=registry,
        ).set_function(lambda: float(len(memory)))
        Gauge(
            "smmbot_catalog_snapshots_capacity",
            "CATALOGS_IN_MEMORY: past it the least recently used catalog is dropped",
            registry=registry,
        ).set_function(lambda: float(memory.capacity))
        if accounts.operator is not None:
            catalog = accounts.operator.catalog
            Gauge(
                "smmbot_catalog_age_seconds",
                "Age of the operator's catalog (+Inf: never fetched); it is refreshed in the "
                "background when used past an hour old",
                registry=registry,
            ).set_function(lambda: _age(catalog.fetched_at))

    async def exposition(self) -> tuple[bytes, str]:
        """The text exposition and its content type, the SQLite gauges read first."""
        if self._storage is not None:
            await self._storage.read()
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _StorageGauges:
    """The gauges SQLite answers, set by `read` just before each exposition."""

    def __init__(self, db: Database, registry: CollectorRegistry) -> None:
        self._db = db
        by_state = Gauge(
            "smmbot_orders", "Orders by state, read from SQLite", ["state"], registry=registry
        )
        self._orders = {state: by_state.labels(state.value) for state in OrderState}
        self._pending = Gauge(
            "smmbot_outbox_pending",
            "Messages queued and not yet sent (held back or waiting for a retry included)",
            registry=registry,
        )
        self._oldest = Gauge(
            "smmbot_outbox_oldest_pending_age_seconds",
            "Age of the oldest message not yet sent; 0 when none waits",
            registry=registry,
        )

    async def read(self) -> None:
        counts = await orders.count_by_state(self._db)
        for state, series in self._orders.items():
            series.set(counts.get(state, 0))
        pending, oldest = await outbox.pending_summary(self._db)
        self._pending.set(pending)
        self._oldest.set(0.0 if oldest is None else max(0.0, time.time() - oldest))


def _age(since: float | None) -> float:
    return math.inf if since is None else max(0.0, time.time() - since)
