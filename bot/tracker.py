"""Order tracking: every open order is `check`ed when its `next_check_at` comes, within a
per-account rate and bounded concurrency, paused by the circuit breaker while the panel is
down. A change is recorded with its notification in one transaction, compared with the last
stored state, so a change made while the bot was down is announced after a restart, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from bot.background import BackgroundLoop
from bot.batching import GroupWriter
from bot.health import CircuitBreaker, PanelHealth
from bot.ratelimit import Limiter, Limiters, local_limiters
from bot.smmlaba import OrderStatus, Panel, PanelError, PanelException, PanelProtocolError
from bot.statuses import DEFAULT_STATUS_STATES, panel_words, state_of
from storage import batches, orders, users
from storage.db import Database
from storage.orders import CheckResult, Order, OrderState
from storage.outbox import Kind, Notification
from storage.users import NotifyMode

if TYPE_CHECKING:
    from bot.metrics import Metrics, TrackerResult

logger = logging.getLogger(__name__)

# Why an order's check did not reach the panel.
Unasked = Literal["no panel", "stopping"]


@dataclass(frozen=True)
class TrackerConfig:
    base_interval: float = 60.0
    max_interval: float = 900.0
    concurrency: int = 16
    rate_per_second: float = 10.0  # per panel account
    batch: int = 200
    progress_threshold: float = 0.25  # of the ordered amount: the card edited per quarter at most
    lost_after: int = 3  # panel errors in a row before an order is given up as lost
    breaker_after: int = 3  # unavailable answers in a row that open the breaker
    breaker_base: float = 5.0
    breaker_max: float = 300.0
    idle_poll: float = 1.0  # longest sleep when nothing is due
    # How long a batch's orders stay taken by this replica: longer than a batch's checks
    # take (at `rate_per_second`, with the panel's timeout), short enough that orders a
    # killed replica had taken are checked again soon after.
    lease: float = 300.0
    jitter: float = 0.1
    status_states: Mapping[str, OrderState] = field(default_factory=lambda: DEFAULT_STATUS_STATES)

    def interval(self, quiet_checks: int) -> float:
        """Base interval after a change, growing by half each quiet check, capped."""
        grown = self.base_interval * 1.5 ** min(quiet_checks, 32)
        spread = random.uniform(1 - self.jitter, 1 + self.jitter)
        return min(self.max_interval, grown) * spread


class Tracker(BackgroundLoop):
    """Takes due orders from the database in batches, so thousands of open orders never
    become a burst; each batch is leased to this replica (`orders.claim_due`). New or
    changing orders are checked at the base interval, quiet ones less and less often, up to
    a cap. While the breaker is open, one order per backoff step is the probe;
    the others keep their place, and nothing is skipped."""

    name = "tracker"

    def __init__(
        self,
        db: Database,
        panel_for: Callable[[Order], Panel | None],
        config: TrackerConfig,
        *,
        health: PanelHealth | None = None,
        metrics: Metrics | None = None,
        limiters: Limiters | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._metrics = metrics
        self._panel_for = panel_for
        self._config = config
        self._clock = clock
        self._limiters = limiters or local_limiters()
        self._buckets: dict[str, Limiter] = {}
        self._gate = asyncio.Semaphore(config.concurrency)  # requests to the panel at once
        self._checks: set[asyncio.Task[None]] = set()
        # Answers that arrive while others are being stored are stored with the next ones,
        # in one transaction.
        self._writes: GroupWriter[orders.Check, int] = GroupWriter(
            lambda checks: orders.record_checks(db, checks)
        )
        self._faulted = False
        self.breaker = CircuitBreaker(
            health,
            after=config.breaker_after,
            base=config.breaker_base,
            cap=config.breaker_max,
            clock=clock,
        )
        super().__init__()
        self.retry_after = config.idle_poll

    async def run_once(self) -> None:
        """Check what is due (or probe, if the breaker is open)."""
        now = self._clock()
        if hold := self.breaker.holds_for(now):
            # In short steps: the panel answering anyone ends the hold early.
            await self.pause(min(hold, self._config.idle_poll))
            return
        if self._faulted:  # a check failed outside the panel (the database, Redis): wait
            self._faulted = False
            await self.pause(self.retry_after)
            return
        limit = 1 if self.breaker.is_open else self._config.batch
        due = await orders.claim_due(self._db, now, limit, now + self._config.lease)
        if not due:
            await self.pause(self._config.idle_poll)
            return
        waiting = len(due)
        all_started = asyncio.Event()

        async def guarded(order: Order) -> None:
            nonlocal waiting
            try:
                # The gate bounds the requests to the panel; recording an answer happens
                # outside it, so the next request need not wait for the database.
                async with self._gate:
                    waiting -= 1
                    if not waiting:
                        all_started.set()
                    # Stopping, or the breaker opened during this batch: the rest stay due.
                    if self.stopping or (self.breaker.is_open and len(due) > 1):
                        await orders.unclaim(self._db, order.id)
                        return
                    answer = await self._ask(order)
                await self._settle(order, answer)
            except Exception:
                # No batch is claimed after this one until the pause, whichever finishes first.
                self._faulted = True
                with contextlib.suppress(Exception):  # due again, for any replica
                    await orders.unclaim(self._db, order.id)
                raise

        tasks = [asyncio.create_task(guarded(order)) for order in due]
        for task in tasks:
            self._checks.add(task)
            task.add_done_callback(self._check_done)
        if self.breaker.is_open:
            # One probe at a time: its answer decides the next step.
            await asyncio.gather(*tasks, return_exceptions=True)
            return
        # The next batch is claimed as soon as this one's last order has a slot: the panel is
        # kept busy while the slowest checks of this batch finish.
        await all_started.wait()

    def _check_done(self, task: asyncio.Task[None]) -> None:
        self._checks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("a check failed", exc_info=error)

    async def stop(self) -> None:
        """Stop taking orders; the checks under way finish and record what they learned."""
        await super().stop()
        await asyncio.gather(*self._checks, return_exceptions=True)

    async def check(self, order: Order) -> None:
        await self._settle(order, await self._ask(order))

    async def _ask(self, order: Order) -> OrderStatus | PanelException | Unasked:
        """The panel's answer about `order`, or why it was not asked."""
        panel = self._panel_for(order)
        if panel is None or order.panel_order_id is None:
            return "no panel"
        bucket = self._buckets.get(order.account)
        if bucket is None:  # as many a second per account, however many replicas check
            rate = self._config.rate_per_second
            bucket = self._buckets[order.account] = self._limiters(
                f"panel:{order.account}", rate, rate
            )
        await bucket.acquire()
        if self.stopping:
            return "stopping"
        try:
            return await panel.check(order.panel_order_id)
        except PanelException as exc:
            return exc

    async def _settle(self, order: Order, answer: OrderStatus | PanelException | Unasked) -> None:
        """Record what the panel said about `order` (or that it could not be asked)."""
        if answer == "no panel":
            logger.warning("order %s has no panel to check it with; not tracked", order.id)
            self._count("no_panel")
            await self._record(order, self._unchanged(order, next_check_at=None), [])
            return
        if answer == "stopping":
            await orders.unclaim(self._db, order.id)  # not started: due for the next run
            return
        if isinstance(answer, PanelError):
            self.breaker.succeeded()  # the panel answered: it is up
            self._count("refused")
            await self._refused(order, answer)
            return
        if isinstance(answer, PanelProtocolError):
            # The panel answered, in a shape refused at the edge (a `remain` of 1e20, say): it
            # is up, so no pause for every order; and this one backs off like a quiet order,
            # up to the cap, rather than being asked every base interval forever.
            self.breaker.succeeded()
            self._count("malformed")
            logger.warning("check of order %s: %s", order.id, answer)
            quiet = order.quiet_checks + 1
            result = self._unchanged(
                order, next_check_at=self._clock() + self._config.interval(quiet), quiet=quiet
            )
            await self._record(order, result, [])
            return
        if isinstance(answer, PanelException):
            self.breaker.failed()
            self._count("unavailable")
            logger.info("check of order %s failed: %s", order.id, answer)
            result = self._unchanged(
                order, next_check_at=self._clock() + self._config.base_interval
            )
            await self._record(order, result, [])
            return
        self.breaker.succeeded()
        self._count("ok")
        await self._observed(order, answer)

    def reading(self, status: OrderStatus) -> tuple[OrderState, str]:
        """The state a status means, and the panel's own words worth showing beside it."""
        return (
            state_of(status, self._config.status_states),
            panel_words(status, self._config.status_states),
        )

    def _count(self, result: TrackerResult) -> None:
        if self._metrics is not None:
            self._metrics.checked(result)

    async def record_refresh(
        self, order: Order, status: OrderStatus, *, shown_in: int | None
    ) -> bool:
        """Record what the person's own Refresh learned; False if nothing changed. Not announced:
        they are looking at it (in message `shown_in`). The next check compares with it, so it
        is not announced later either; the order's card, if elsewhere, is edited to match."""
        state, words = self.reading(status)
        if (state, status.status, words, status.remain) == (
            order.state,
            order.status_code,
            order.status_text or "",
            order.remain,
        ):
            return False
        result = CheckResult(
            state=state,
            status_code=status.status,
            status_text=words,
            remain=status.remain,
            next_check_at=None if state.is_final else order.next_check_at,
        )
        card = self._card_edit(order, result) if order.card_message_id != shown_in else None
        await orders.record_check(
            self._db, order.id, result, event=True, notifications=[card] if card else []
        )
        return True

    async def _observed(self, order: Order, status: OrderStatus) -> None:
        state, words = self.reading(status)
        changed = state is not order.state or words != (order.status_text or "")
        moved = self._moved(order, status)
        # Accepted by the panel and waiting is what "placed" already told the person.
        news = (changed or moved) and not (
            order.state is OrderState.PLACED and state is OrderState.PENDING
        )
        quiet = 0 if (changed or moved or status.remain != order.remain) else order.quiet_checks + 1
        result = CheckResult(
            state=state,
            status_code=status.status,
            status_text=words,
            remain=status.remain,
            next_check_at=None if state.is_final else self._clock() + self._config.interval(quiet),
            quiet_checks=quiet,
            failed_checks=0,
            announced=news,
        )
        await self._record(order, result, await self._news(order, result) if news else [])

    def _moved(self, order: Order, status: OrderStatus) -> bool:
        """Delivery progressed by at least the threshold since progress was last announced."""
        if status.remain is None or order.quantity is None or order.quantity <= 0:
            return False
        before = order.announced_remain if order.announced_remain is not None else order.quantity
        return (before - status.remain) / order.quantity >= self._config.progress_threshold

    async def _refused(self, order: Order, exc: PanelError) -> None:
        failures = order.failed_checks + 1
        if failures < self._config.lost_after:
            logger.info("panel refused check of order %s (%d): %s", order.id, failures, exc.text)
            result = self._unchanged(
                order,
                next_check_at=self._clock() + self._config.base_interval,
                failed_checks=failures,
            )
            await self._record(order, result, [])
            return
        logger.warning("order %s lost: the panel keeps refusing: %s", order.id, exc.text)
        result = CheckResult(
            state=OrderState.LOST,
            status_code=order.status_code,
            status_text=exc.text,
            remain=order.remain,
            next_check_at=None,
            failed_checks=failures,
        )
        await self._record(order, result, await self._news(order, result))

    def _unchanged(
        self,
        order: Order,
        *,
        next_check_at: float | None,
        failed_checks: int | None = None,
        quiet: int | None = None,
    ) -> CheckResult:
        return CheckResult(
            state=order.state,
            status_code=order.status_code,
            status_text=order.status_text,
            remain=order.remain,
            next_check_at=next_check_at,
            quiet_checks=order.quiet_checks if quiet is None else quiet,
            failed_checks=order.failed_checks if failed_checks is None else failed_checks,
        )

    def _card_edit(self, order: Order, result: CheckResult) -> Notification | None:
        """The edit that shows this change on the order's card, if it has one. The card is
        drawn as the order is when the edit goes out."""
        if order.card_message_id is None:
            return None
        words = zlib.crc32((result.status_text or "").encode())
        return Notification(
            dedupe_key=f"order:{order.id}:card:{result.state.value}:{result.remain}:{words}",
            user_id=order.user_id,
            chat_id=order.chat_id,
            kind=Kind.ORDER_CARD,
            payload={"order": order.id},
        )

    async def _news(self, order: Order, result: CheckResult) -> list[Notification]:
        """How the person hears of this change: the order's card edited in place (no sound),
        and a message of its own for its end, or its start if they asked for that too.
        Nothing for a person Telegram no longer reaches; no message for a muted order."""
        user = await users.get(self._db, order.user_id)
        if user is None or not user.is_active:
            return []
        key = f"order:{order.id}"
        news = []
        card = self._card_edit(order, result)
        if card is not None:
            news.append(card)
        started = result.state is OrderState.IN_PROGRESS and order.state in (
            OrderState.PLACED,
            OrderState.PENDING,
        )
        if order.muted or not (
            result.state.is_final or (started and user.notify is NotifyMode.ALL)
        ):
            return news
        if (
            result.state.is_final
            and order.batch is not None
            and await batches.told_together(self._db, order.batch)
        ):
            return news  # told with the batch's end, once every order of it has ended
        news.append(
            Notification(
                dedupe_key=f"{key}:{result.state.value}:{result.remain}",
                user_id=order.user_id,
                chat_id=order.chat_id,
                kind=Kind.ORDER_STATUS,
                payload={
                    "order": order.id,
                    "panel_order_id": order.panel_order_id,
                    "service": order.service_name,
                    "state": result.state.value,
                    "status_text": result.status_text or "",
                    "count": order.quantity,
                    "remain": result.remain,
                },
            )
        )
        return news

    async def _record(
        self, order: Order, result: CheckResult, notifications: list[Notification]
    ) -> None:
        event = (
            bool(notifications)
            or result.state is not order.state
            or result.status_text != order.status_text
            or result.remain != order.remain
        )
        await self._writes.submit(orders.Check(order.id, result, event, notifications))
