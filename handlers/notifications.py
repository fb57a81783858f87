"""The words of every queued notification (`storage.outbox.Kind`): the notifier sends what
`render` returns, in the person's language, so `bot/` never needs the keyboards."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.formatting import balance as held
from bot.formatting import duration, money, number, progress_bar, quote, short, utc_time
from bot.smmlaba import delivered
from handlers import keyboards, texts
from storage.orders import Order, OrderState
from storage.outbox import Kind


def render(
    kind: str, payload: dict[str, Any], order: Order | None, currency: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The message for one notification, in the current locale; `order`, as it is now, for
    the kinds that show its card (`bot.notifier.CARDS`)."""
    if order is not None:
        return texts.order_card(order, currency), keyboards.status_card(order)
    if kind == Kind.PANEL_DOWN:
        return panel_down_text(payload), None
    if kind == Kind.PANEL_UP:
        return panel_up_text(payload), None
    if kind == Kind.ORDER_REJECTED:
        return rejected_text(payload)
    if kind == Kind.LOW_BALANCE:
        return low_balance_text(payload, currency), None
    if kind == Kind.BATCH_ENDED:
        return batch_ended_text(payload), keyboards.to_orders()
    event = OrderEvent.from_payload(payload)
    return status_text(event), keyboards.notification(event.order)


def rejected_text(payload: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    """The panel refused an order, told after the person left the wizard (a restart)."""
    reason = texts.refusal(str(payload.get("error") or ""))
    text = f"{reason}\n" + _("Nothing was ordered or charged.")
    return text, keyboards.placed(int(payload["order"]))


@dataclass(frozen=True)
class OrderEvent:
    """What the tracker put in an `order_status` notification."""

    order: int
    label: str
    service: str
    state: OrderState
    status: str
    count: int | None
    remain: int | None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> OrderEvent:
        return cls(
            order=int(payload["order"]),
            label=str(payload.get("panel_order_id") or payload["order"]),
            service=str(payload.get("service") or ""),
            state=OrderState(payload["state"]),
            status=str(payload.get("status_text") or ""),
            count=payload.get("count"),
            remain=payload.get("remain"),
        )


def status_text(event: OrderEvent) -> str:
    """The notification for one order event, in the current locale."""
    label, service, status = quote(event.label), quote(event.service), quote(event.status)
    head = _("🔔 Order #{id} · {service}").format(id=label, service=service)
    done, count = delivered(event.count, event.remain), event.count
    if event.state is OrderState.COMPLETED:
        text = _("✅ Order #{id} is complete.").format(id=label)
        if done is not None:
            text = _("✅ Order #{id} is complete — {delivered} of {count} delivered.").format(
                id=label, delivered=number(done), count=number(count)
            )
        return f"{text}\n{service}"
    if event.state is OrderState.PARTIAL:
        detail = _(
            "⚠️ Partly delivered: {delivered} of {count}. "
            "The panel refunds the rest to your balance."
        ).format(delivered=number(done), count=number(count))
    elif event.state is OrderState.CANCELLED and status:
        detail = _(
            "✖️ Cancelled by the panel — «{status}». Any charge goes back to your panel balance."
        ).format(status=status)
    elif event.state is OrderState.CANCELLED:
        detail = _("✖️ Cancelled by the panel. Any charge goes back to your panel balance.")
    elif event.state is OrderState.REFUNDED and status:
        detail = _("↩️ Refunded — «{status}». The money is back on your panel balance.").format(
            status=status
        )
    elif event.state is OrderState.REFUNDED:
        detail = _("↩️ Refunded. The money is back on your panel balance.")
    elif event.state is OrderState.LOST:
        detail = _(
            "❓ The panel no longer knows this order, so I stopped tracking it. "
            "Please check it on the panel."
        )
    else:
        # Its start: the one move before its end worth a sound, for those who ask for it.
        detail = _("▶️ Started") + (f" — «{status}»" if status else "")
        if done and count and done * 100 >= count:  # a bar at 0% would say nothing
            detail += "\n" + _("{bar} · {delivered} of {count}").format(
                bar=progress_bar(done, count), delivered=number(done), count=number(count)
            )
    return f"{head}\n{detail}"


def panel_down_text(payload: dict[str, Any]) -> str:
    """For admins: the panel has been unreachable for a while."""
    text = _(
        "⚠️ Admin: SMMLaba has not answered since {since} UTC. Orders are safe and tracking "
        "waits; I'll tell you when it is back."
    ).format(since=utc_time(float(payload["since"])))
    cause = str(payload.get("cause") or "")
    if cause:
        text += "\n" + _("Last error: {cause}").format(cause=quote(short(cause, 300)))
    return text


def panel_up_text(payload: dict[str, Any]) -> str:
    """For admins: the panel answers again."""
    outage = float(payload["until"]) - float(payload["since"])
    return _("✅ Admin: SMMLaba answers again (down for about {duration}).").format(
        duration=duration(outage)
    )


def low_balance_text(payload: dict[str, Any], currency: str) -> str:
    """A watched balance fell under its warning's amount: for the person, or for the admins
    when it is the account the team orders on."""
    values = {
        "amount": quote(held(Decimal(str(payload["amount"])), currency)),
        "below": quote(money(Decimal(str(payload["below"])), currency)),
    }
    if payload.get("admins"):
        return _(
            "⚠️ Admin: the panel balance the team orders on is {amount}, under the {below} "
            "you asked me to watch. Top it up to keep orders going."
        ).format(**values)
    return _(
        "💰 Your panel balance is {amount}, under the {below} you asked me to watch. Top it "
        "up on the panel to keep ordering."
    ).format(**values)


def batch_ended_text(payload: dict[str, Any]) -> str:
    """Every order of a batch (several links at once) has ended: how, in one message."""
    ended = {OrderState(state): int(count) for state, count in payload["ended"].items()}
    lines = [
        _("📋 All {count} orders of {service} have ended:").format(
            count=number(sum(ended.values())), service=quote(str(payload.get("service") or ""))
        )
    ]
    lines += [f"{texts.state_name(state)}: {number(count)}" for state, count in ended.items()]
    ids = [f"#{quote(str(i))}" for i in payload.get("orders", [])]
    if ids:
        lines.append(short(", ".join(ids), 600))
    return "\n".join(lines)
