"""Placing an order exactly once per confirmation, and never leaving its fate in doubt: the row
is written durably before `add` is sent, the panel's answer decides its state, and a loop
settles the rows whose answer storage refused or that no answer will reach any more. The
rules, and the tests that prove them: docs/ARCHITECTURE.md, "Money never in doubt".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from bot.background import BackgroundLoop
from bot.smmlaba import Panel, PanelError, PanelException, PanelNotSent, PlacedOrder
from storage import orders, outbox
from storage.db import Database
from storage.orders import Answered, Order, OrderState
from storage.outbox import OutboxMessage

logger = logging.getLogger(__name__)

T = TypeVar("T")

WRITE_RETRIES = (0.1, 0.5, 1.5)  # waits between attempts to record an answer
SWEEP_EVERY = 2.0
ANSWER_MARGIN = 5.0  # beyond the panel timeout: a wait for a connection, then the answer


class Outcome(StrEnum):
    PLACED = "placed"
    REJECTED = "rejected"
    UNCERTAIN = "uncertain"
    NOT_SENT = "not_sent"  # never left the process: nothing was ordered
    ALREADY = "already"  # this confirmation was handled before: nothing was sent now


@dataclass(frozen=True)
class Draft:
    """A confirmed order, ready to send."""

    service_id: str
    service_name: str
    values: dict[str, str]
    quantity: int | None
    total: Decimal | None


@dataclass(frozen=True)
class Placement:
    outcome: Outcome
    order: Order
    refusal: str | None = None  # the panel's own words, when it refused
    detail: str = ""  # the panel's `message` beside them, which may name the field
    message: OutboxMessage | None = None  # the durable word to the person, to deliver now
    recorded: bool = True  # False: the panel took it, the local write is still being retried


@dataclass
class _Unrecorded:
    """An answer from the panel that storage has not taken yet."""

    token: str
    order: Order  # as it will be once recorded
    placed: PlacedOrder
    next_check_at: float


class Placements(BackgroundLoop):
    """Places orders (`place`). A second tap on the same Confirm finds the row and sends
    nothing; a request that provably never left the process removes the row again, so the
    same Confirm may be pressed again. The loop settles the two ways a row can stay
    `submitting`: storage refused the write after `add` (the answer, logged first, is kept in
    memory and retried), or the process died with `add` in flight (once no answer can come,
    the row becomes `uncertain` and its person is told)."""

    name = "placements"

    def __init__(self, db: Database, *, panel_timeout: float) -> None:
        super().__init__()
        self._db = db
        self.panel_timeout = panel_timeout
        # The longest an `add` is given, waiting for a connection included; a stop waits
        # this long for the updates in flight.
        self.answer_within = panel_timeout + ANSWER_MARGIN
        self._unrecorded: dict[str, _Unrecorded] = {}
        self._sending: set[str] = set()  # tokens whose `add` is under way here
        self.retry_after = SWEEP_EVERY

    async def place(
        self,
        panel: Panel,
        *,
        token: str,
        user_id: int,
        chat_id: int,
        account: str,
        draft: Draft,
        first_check_in: float,
        card_message_id: int | None = None,
        batch: str | None = None,
    ) -> Placement:
        """`card_message_id`: the confirmation, which becomes the order's card; `batch`: the
        batch (several links at once) the order is a line of."""
        order, created = await orders.start_submitting(
            self._db,
            token=token,
            user_id=user_id,
            chat_id=chat_id,
            account=account,
            service_id=draft.service_id,
            service_name=draft.service_name,
            params=draft.values,
            quantity=draft.quantity,
            total=draft.total,
            card_message_id=card_message_id,
            batch=batch,
        )
        if not created:
            return Placement(Outcome.ALREADY, order)
        self._sending.add(token)
        try:
            return await self._send(panel, order, draft, first_check_in)
        finally:
            self._sending.discard(token)

    async def untold_answer(
        self, order: Order, take: Callable[[OutboxMessage], Awaitable[bool]]
    ) -> OutboxMessage | None:
        """The answer about `order` that nobody is telling (the process that sent it died
        before telling it), taken with `take` (the notifier's) for the caller to tell now;
        None when it was told, or when this process still works on it."""
        if self.busy_with(order.token):
            return None
        message = await orders.unsent_answer(self._db, order)
        if message is None or not await take(message):
            return None
        return message

    def busy_with(self, token: str) -> bool:
        """Whether this process still works on the order of `token` (its `add` is under way,
        or its answer waits for storage): the order's fate is this process's to tell."""
        return token in self._sending or token in self._unrecorded

    async def _send(
        self, panel: Panel, order: Order, draft: Draft, first_check_in: float
    ) -> Placement:
        token = order.token
        try:
            # Never past the deadline after which the sweep calls the order uncertain.
            async with asyncio.timeout(self.answer_within - 1):
                placed = await panel.add(draft.service_id, draft.values)
        except PanelError as exc:
            logger.info("order %s refused by the panel: %s", order.id, exc.text)
            rejected = await orders.mark_rejected(self._db, token, exc.text)
            return Placement(
                Outcome.REJECTED, rejected.order, exc.text, exc.message, rejected.message
            )
        except PanelNotSent as exc:
            logger.warning("order %s not sent: %s", order.id, exc)
            await orders.forget_unsent(self._db, token)
            return Placement(Outcome.NOT_SENT, order, detail=str(exc))
        except (PanelException, TimeoutError) as exc:
            # Never retried: the order may exist on the panel.
            cause = str(exc) if isinstance(exc, PanelException) else "no answer in time"
            logger.warning("order %s uncertain: %s", order.id, cause)
            answered = await orders.mark_uncertain(self._db, token, cause)
            return Placement(Outcome.UNCERTAIN, answered.order, message=answered.message)
        except BaseException:
            # This task is going away (a stop that could not wait) or a bug: the order may
            # exist on the panel. Recorded even while being cancelled.
            logger.warning("order %s uncertain: its request was abandoned", order.id)
            await asyncio.shield(orders.mark_uncertain(self._db, token, "request abandoned"))
            raise
        # Before anything else can fail: the one record of an order that storage may not take.
        logger.warning(
            "panel took order %s: panel order %s, price %s",
            order.id,
            placed.order_id,
            placed.price,
        )
        # Recorded even if this task is cancelled meanwhile: the panel's id is known.
        return await asyncio.shield(self._record(order, placed, time.time() + first_check_in))

    async def _record(self, order: Order, placed: PlacedOrder, next_check_at: float) -> Placement:
        token = order.token
        done = replace(
            order,
            state=OrderState.PLACED,
            panel_order_id=placed.order_id,
            charged=placed.price,
            next_check_at=next_check_at,
        )
        try:
            answered = await _retrying(
                lambda: self._write_placed(token, placed, next_check_at), WRITE_RETRIES
            )
        except Exception as exc:
            logger.error(
                "could not record panel order %s for order %s (%s); retrying in the background",
                placed.order_id,
                order.id,
                exc,
            )
            self._unrecorded[token] = _Unrecorded(token, done, placed, next_check_at)
            return Placement(Outcome.PLACED, done, recorded=False)
        return Placement(Outcome.PLACED, answered.order, message=answered.message)

    async def _write_placed(
        self, token: str, placed: PlacedOrder, next_check_at: float
    ) -> Answered:
        return await orders.mark_placed(
            self._db,
            token,
            panel_order_id=placed.order_id,
            charged=placed.price,
            next_check_at=next_check_at,
        )

    async def run_once(self) -> None:
        await self.settle()
        await self.pause(SWEEP_EVERY)

    async def settle(self) -> None:
        """Record the answers storage refused before, then give up on requests that can no
        longer be answered."""
        for token, pending in list(self._unrecorded.items()):
            try:
                answered = await self._write_placed(token, pending.placed, pending.next_check_at)
            except Exception as exc:
                logger.warning(
                    "panel order %s still not recorded: %s", pending.placed.order_id, exc
                )
                continue
            del self._unrecorded[token]
            logger.warning(
                "panel order %s recorded as order %s at last",
                pending.placed.order_id,
                pending.order.id,
            )
            if answered.message is not None:
                await outbox.release(self._db, answered.message.id)
        await self.expire_stale(self.answer_within)

    async def stop(self) -> None:
        await super().stop()
        if self._unrecorded:
            await self.settle()
        for pending in self._unrecorded.values():
            logger.error(
                "stopping with panel order %s (order %s, price %s) not recorded: it is on the "
                "panel; settle it from the order's card after the restart",
                pending.placed.order_id,
                pending.order.id,
                pending.placed.price,
            )

    async def expire_stale(self, older_than: float) -> None:
        """Rows still `submitting` `older_than` seconds after they were written become
        `uncertain`, and their people are told through the outbox; never an order this
        process is still sending."""
        for order in await orders.stale_submitting(self._db, time.time() - older_than):
            if self.busy_with(order.token):
                continue
            cause = "no answer from the panel before the bot stopped"
            answered = await orders.mark_uncertain(self._db, order.token, cause)
            if answered.message is not None:
                await outbox.release(self._db, answered.message.id)
                logger.warning("order %s was left sending: now uncertain", order.id)


async def _retrying(write: Callable[[], Awaitable[T]], waits: tuple[float, ...]) -> T:
    """`write()`, tried again after each of `waits` while it fails."""
    for wait in waits:
        try:
            return await write()
        except Exception as exc:
            logger.warning("storage refused a write (%s); again in %.1fs", exc, wait)
            await asyncio.sleep(wait)
    return await write()
