"""Texts more than one screen shows: kept here so that routers do not import each other."""

from __future__ import annotations

import re

from aiogram.utils.i18n import gettext as _

from bot.formatting import moment, money, number, progress_bar, quote, short
from bot.params import FieldKind, amount_range, fields_of, usual_label
from bot.smmlaba import PanelError, PanelException, Refusal, Service, delivered, refusal_of
from handlers import keyboards
from storage.orders import Order, OrderState


def service_card(service: Service, currency: str) -> str:
    """A service's card: its name, price, amount range and the fields an order asks for."""
    lines = [f"<b>{quote(service.name)}</b>"]
    unit = keyboards.unit_price(service)
    if unit is not None:
        lines.append(f"💵 {quote(unit.text(currency))}")
    else:
        price = service.price.text or _("price on request")
        lines.append(_("💵 {price}").format(price=quote(price)))
    limits = amount_range(service)
    if limits is not None:
        lines.append(
            _("📏 Quantity: {low} – {high}").format(low=number(limits[0]), high=number(limits[1]))
        )
    notes = name_notes(service.name)
    if notes:
        lines.append(f"ℹ️ {quote(' · '.join(notes))}")
    asked = [
        spec.label if spec.required else _("{field} (optional)").format(field=spec.label)
        for spec in fields_of(service)
    ]
    if asked:
        lines.append(_("You'll be asked for: {fields}.").format(fields=quote(", ".join(asked))))
    return "\n".join(lines)


_NOTE_IN_BRACKETS = re.compile(r"[\[(]([^\[\]()]{2,60})[\])]")


def name_notes(name: str) -> list[str]:
    """What a panel's service name says beside the service itself (its speed, a guarantee,
    how soon it starts): the parts in brackets and after a " | "."""
    notes = [match.strip() for match in _NOTE_IN_BRACKETS.findall(name)]
    plain = _NOTE_IN_BRACKETS.sub("", name)
    notes += [part.strip() for part in plain.split("|")[1:] if part.strip()]
    return list(dict.fromkeys(notes))


def unavailable() -> str:
    return _(
        "⚠️ SMMLaba isn't answering right now. Your orders are safe; I'll keep checking them. "
        "Try again in a few minutes."
    )


def panel_failure(exc: PanelException, *, html: bool = True) -> str:
    """A failed panel call, for the person: why the panel refused (`refusal`), else that it
    isn't answering (the cause is the operator's, in the log). `html=False` for plain text,
    such as a button's toast."""
    if isinstance(exc, PanelError):
        return refusal(exc.text, html=html)
    return unavailable()


def refusal(text: str, *, html: bool = True) -> str:
    """A refusal in the bot's words, in the person's language, when it is one of the panel's
    usual ones (its own words are in the log); else the panel's words, quoted."""
    kind = refusal_of(text)
    if kind is Refusal.NO_FUNDS:
        return _(
            "❌ Not enough money on your panel balance. Top it up on SMMLaba, then order again."
        )
    if kind is Refusal.BAD_CREDENTIALS:
        return _("❌ The panel didn't accept the account's e-mail and API key.")
    if kind is Refusal.NO_SERVICE:
        return _("❌ The panel no longer offers this service.")
    if kind is Refusal.NO_ORDER:
        return _("❌ The panel doesn't know this order.")
    if kind is Refusal.BAD_LINK:
        return _("❌ The panel didn't accept the link.")
    if kind is Refusal.BAD_AMOUNT:
        return _("❌ The panel didn't accept the amount.")
    reason = short(text, 500)
    return _("❌ The panel refused: «{reason}»").format(reason=quote(reason) if html else reason)


def state_name(state: OrderState) -> str:
    labels = {
        OrderState.SUBMITTING: _("sending…"),
        OrderState.PLACED: _("placed"),
        OrderState.REJECTED: _("refused"),
        OrderState.UNCERTAIN: _("unknown — check the panel"),
        OrderState.NOT_PLACED: _("not placed"),
        OrderState.PENDING: _("waiting"),
        OrderState.IN_PROGRESS: _("in progress"),
        OrderState.COMPLETED: _("✅ completed"),
        OrderState.PARTIAL: _("partly delivered"),
        OrderState.CANCELLED: _("cancelled"),
        OrderState.REFUNDED: _("refunded"),
        OrderState.LOST: _("lost"),
    }
    return labels[state]


def progress(order: Order) -> str | None:
    done = delivered(order.quantity, order.remain)
    if done is None or not order.quantity:
        return None
    return progress_bar(done, order.quantity)


# An order's fields by their form name; in the wizard, by the kind of rule when the name is
# another one.
_FIELD_ICONS = {"url": "🔗", "count": "🔢"}
_KIND_ICONS = {FieldKind.FRAGMENTS: "🔗", FieldKind.NUMBER: "🔢"}


def field_icon(param: str, kind: FieldKind | None = None) -> str:
    return _FIELD_ICONS.get(param) or (_KIND_ICONS.get(kind, "▫️") if kind else "▫️")


def order_card(order: Order, currency: str) -> str:
    """One order's card: what was ordered, for how much, and where it stands."""
    lines = [
        _("📦 Order {label}").format(label=quote(keyboards.order_label(order))),
        f"<b>{quote(order.service_name)}</b>",
    ]
    for param, value in order.params.items():
        name = usual_label(param) or param
        lines.append(f"{field_icon(param)} {quote(name)}: {quote(short(value))}")
    price = order.charged if order.charged is not None else order.total
    placed = moment(order.created_at)
    lines.append(
        f"💵 {quote(money(price, currency))} · {placed}" if price is not None else f"🗓 {placed}"
    )
    if order.placed_on_website:
        lines.append(_("🌐 Placed on the website"))
    status = state_name(order.state)
    if order.status_text:
        status += f" — «{quote(order.status_text)}»"
    lines.append(_("State: {status}").format(status=status))
    done = delivered(order.quantity, order.remain)
    if order.quantity and done is not None:
        lines.append(
            _("{bar} · {delivered} of {ordered}").format(
                bar=progress_bar(done, order.quantity),
                delivered=number(done),
                ordered=number(order.quantity),
            )
        )
    if order.panel_order_id and not order.state.is_final and not order.muted:
        lines.append(_("🔔 I'll message you when it's done; this card shows how it moves."))
    if order.state is OrderState.UNCERTAIN:
        lines.append(
            _(
                "The panel didn't answer when this order was sent: it may or may not exist. "
                "Look for it on the panel, then tell me below what you found."
            )
        )
    if order.state is OrderState.NOT_PLACED:
        lines.append(_("You found it is not on the panel: nothing was ordered or charged."))
    if order.state is OrderState.REJECTED and order.error:
        lines.append(refusal(order.error))
    return "\n".join(lines)


def unknown_order(panel_id: str, reason: str) -> str:
    """The panel's refusal of a `check` of an order number the person typed."""
    return _("The panel doesn't know order #{id} on your account: «{reason}»").format(
        id=quote(panel_id), reason=quote(short(reason, 300))
    )
