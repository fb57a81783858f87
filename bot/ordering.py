"""Placing an order exactly once per confirmation.

The order row is written (state `submitting`, with the confirmation's token) before `add` is
sent. A second tap on the same Confirm finds the row and never sends `add` again. The panel's
answer decides the rest: an id -> `placed`; a refusal -> `rejected` with its text; no answer ->
`uncertain`, since the panel may or may not have taken it, and only the person can check.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from bot.smmlaba import Panel, PanelError, PanelException
from storage import orders
from storage.db import Database
from storage.orders import Order

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    PLACED = "placed"
    REJECTED = "rejected"
    UNCERTAIN = "uncertain"
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


async def place(
    db: Database,
    panel: Panel,
    *,
    token: str,
    user_id: int,
    chat_id: int,
    account: str,
    draft: Draft,
    first_check_in: float,
) -> Placement:
    order, created = await orders.start_submitting(
        db,
        token=token,
        user_id=user_id,
        chat_id=chat_id,
        account=account,
        service_id=draft.service_id,
        service_name=draft.service_name,
        params=draft.values,
        quantity=draft.quantity,
        total=draft.total,
    )
    if not created:
        return Placement(Outcome.ALREADY, order)
    try:
        placed = await panel.add(draft.service_id, draft.values)
    except PanelError as exc:
        logger.info("order %s refused by the panel: %s", order.id, exc.text)
        return Placement(
            Outcome.REJECTED, await orders.mark_rejected(db, token, exc.text), exc.text
        )
    except PanelException as exc:
        # Never retried: the order may exist on the panel already.
        logger.warning("order %s uncertain: %s", order.id, exc)
        return Placement(Outcome.UNCERTAIN, await orders.mark_uncertain(db, token, str(exc)))
    order = await orders.mark_placed(
        db,
        token,
        panel_order_id=placed.order_id,
        charged=placed.price,
        next_check_at=time.time() + first_check_in,
    )
    logger.info("order %s placed as panel order %s", order.id, placed.order_id)
    return Placement(Outcome.PLACED, order)
