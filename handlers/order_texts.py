"""What the order wizard says: its prompts, the confirmation, and what became of an order."""

from __future__ import annotations

from decimal import Decimal

from aiogram.utils.i18n import gettext as _

from bot.formatting import balance as held
from bot.formatting import money, number, quote, short
from bot.order_form import OrderForm, TermsChange
from bot.params import FieldKind, FieldSpec, total
from handlers import texts


def prompt(form: OrderForm, warning: str = "") -> str:
    """The field asked for, below the values given so far; `warning`, why the last value was
    refused, heads it in one line."""
    spec, data = form.spec, form.data
    lines = [f"⚠️ {quote(warning)}"] if warning else []
    # What was given so far: the answered prompts leave the chat.
    lines += [
        answered(given, data.values[given.param])
        for given in form.fields
        if given.param in data.values and given.param != spec.param
    ]
    lines.append(
        _("<b>Step {n} of {total}</b> · {label}").format(
            n=data.step + 1, total=len(form.fields), label=quote(spec.label)
        )
    )
    if spec.kind is FieldKind.CHOICE:
        lines.append(_("Choose one:"))
    elif spec.kind is FieldKind.NUMBER:
        lines.append(
            _("Send a whole number from {low} to {high}.").format(
                low=number(spec.low), high=number(spec.high)
            )
        )
    elif spec.kind is FieldKind.FRAGMENTS:
        lines.append(link_hint(spec))
    elif spec.multiline and spec.low is not None and spec.high is not None:
        lines.append(
            _("Send {low} to {high} of them in one message, one per line.").format(
                low=number(spec.low), high=number(spec.high)
            )
        )
    elif spec.multiline:
        lines.append(_("Send them in one message, one per line."))
    else:
        lines.append(_("Send the value as text."))
    if spec.kind is FieldKind.TEXT and spec.rule:
        lines.append(_("ℹ️ The panel says: {rule}").format(rule=quote(spec.rule)))
    if not spec.required:
        lines.append(_("This one is optional."))
    current = data.values.get(spec.param)
    if current:
        lines.append(_("Now: {value}").format(value=shown(spec, current)))
    lines.append(f"<i>{quote(form.service.name)}</i>")
    return "\n".join(lines)


def link_hint(spec: FieldSpec) -> str:
    if not spec.is_link:
        return _("Send a link that contains {parts}.").format(
            parts=quote(spec.describe_fragments())
        )
    if spec.example is None:
        return _("Send the link.")
    # As code: Telegram neither links it nor shows a preview of the site under the prompt.
    return _("Send the link, e.g. {example}").format(example=f"<code>{quote(spec.example)}</code>")


def shown(spec: FieldSpec, value: str) -> str:
    if spec.multiline:
        lines = [line for line in value.splitlines() if line.strip()]
        first = lines[0] if lines else ""
        more = _(" (+{count} more lines)").format(count=len(lines) - 1) if len(lines) > 1 else ""
        return quote(short(first)) + more
    return quote(short(value))


def answered(spec: FieldSpec, value: str) -> str:
    """An answered prompt, as the record of what was given."""
    return f"✓ {quote(spec.label)}: {shown(spec, value)}"


def confirmation(form: OrderForm, balance: Decimal | None, currency: str) -> str:
    service, values = form.service, form.data.values
    lines = [_("<b>Please check your order</b>"), quote(service.name)]
    for spec in form.fields:
        if spec.param in values:
            icon = texts.field_icon(spec.param, spec.kind)
            lines.append(f"{icon} {quote(spec.label)}: {shown(spec, values[spec.param])}")
    amount = total(service, values)
    if amount is None:
        lines.append(_("💵 Price: {price}").format(price=quote(service.price.text or "?")))
    elif balance is None:
        lines.append(_("💵 Total: {total}").format(total=quote(money(amount, currency))))
        lines.append(_("💰 Balance: unavailable right now"))
    elif balance >= amount:
        # The total is exact (what the panel will charge); balances are rounded down.
        lines.append(
            _("💵 Total: {total} · balance after: {after}").format(
                total=quote(money(amount, currency)),
                after=quote(held(balance - amount, currency)),
            )
        )
    else:
        lines.append(_("💵 Total: {total}").format(total=quote(money(amount, currency))))
        lines.append(
            _(
                "⚠️ Your balance ({balance}) doesn't cover this total. Top up on the "
                "panel, or order less."
            ).format(balance=quote(held(balance, currency)))
        )
    return "\n".join(lines)


def changed_notice(change: TermsChange) -> str:
    """What changed in the service since the confirmation was shown."""
    lines = []
    if change.price is not None:
        was, now = change.price
        lines.append(
            _("⚠️ The price changed since you saw it: {was} → {now}.").format(
                was=quote(was), now=quote(now)
            )
        )
    if change.rules:
        lines.append(_("⚠️ The service's rules for its fields changed since you saw them."))
    if not lines:
        lines.append(_("⚠️ The service changed since you saw it."))
    lines.append(_("Nothing was ordered. Here is the order as it stands now:"))
    return "\n".join(lines)


def not_sent() -> str:
    return _(
        "⚠️ The order was not sent: I couldn't reach SMMLaba. Nothing was ordered "
        "or charged — please confirm again."
    )


def refused(reason: str) -> str:
    """The panel's refusal of this order, in the bot's words where it is a usual one."""
    return texts.refusal(reason) + "\n" + _("Nothing was ordered or charged.")


def placed_not_saved(panel_order_id: str) -> str:
    return _(
        "✅ Order #{id} is on the panel, but I couldn't save it here yet. I'm retrying; "
        "it needs nothing from you."
    ).format(id=quote(panel_order_id))
