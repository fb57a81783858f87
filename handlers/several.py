"""Several links at once, from a service's card: the person sends up to 50 links, one per line
(`link amount` for one of its own), then one amount for the rest; one confirmation with the
number of orders, the total and the balance after; then each line is placed as its own order,
exactly once (its token is the confirmation's and its line's), one message showing progress
and then what became of each. How the orders' ends are told is the person's choice: a
message each, or one when all have ended.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Sequence
from decimal import Decimal

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel, ValidationError

from bot.balance_watch import after_order
from bot.formatting import balance as held
from bot.formatting import money, number, quote, short
from bot.order_form import service_terms
from bot.ordering import Draft, Outcome, Placement
from bot.several_links import LinkFields, link_fields, read_lines
from bot.smmlaba import PanelException, Service
from handlers import keyboards, screens
from handlers.callbacks import SeveralConfirm, SeveralLinks, SeveralStep
from handlers.filters import TypedText
from handlers.middlewares import require_panel
from handlers.screens import Event
from handlers.states import SeveralLinksForm
from handlers.wizard import OrderDesk, with_desk
from storage import batches, orders
from storage.orders import OrderState

logger = logging.getLogger(__name__)

AT_ONCE = 4  # lines sent to the panel at a time
PROGRESS_EVERY = 1.0  # seconds between two edits of the progress message
SHOWN_LINES = 10  # on the confirmation; the rest are counted
SHOWN_IDS = 50  # of the orders placed, in the outcome


class SeveralData(BaseModel):
    """What the form remembers between updates (stored as JSON in the FSM)."""

    service: str
    lines: list[tuple[str, int | None]] = []
    rest: int | None = None  # the amount of the lines without their own
    token: str = ""
    live: int | None = None  # the message with the form's current buttons
    together: bool = True  # the ends told in one message, once all have ended
    terms: str | None = None  # the service's price and rules as the confirmation showed them


def build_router() -> Router:
    router = Router(name=__name__)
    require_panel(router)
    router.message.middleware(with_desk)
    router.callback_query.middleware(with_desk)
    form = StateFilter(SeveralLinksForm)
    router.callback_query.register(begin, SeveralLinks.filter())
    router.callback_query.register(cancel, form, SeveralStep.filter(F.action == "cancel"))
    router.message.register(links_sent, StateFilter(SeveralLinksForm.links), TypedText())
    router.message.register(amount_typed, StateFilter(SeveralLinksForm.amount), TypedText())
    router.callback_query.register(
        amount_picked,
        StateFilter(SeveralLinksForm.amount),
        SeveralStep.filter(F.action == "amount"),
    )
    router.callback_query.register(
        switch_telling,
        StateFilter(SeveralLinksForm.confirming),
        SeveralStep.filter(F.action == "tell"),
    )
    router.callback_query.register(confirm, SeveralConfirm.filter())
    return router


async def _form(state: FSMContext) -> SeveralData | None:
    try:
        return SeveralData.model_validate(await state.get_data())
    except ValidationError:
        return None


async def _service(desk: OrderDesk, data: SeveralData) -> tuple[Service, LinkFields] | None:
    snapshot = await desk.catalog.snapshot()
    service = snapshot.by_id(data.service) if snapshot is not None else None
    fields = link_fields(service) if service is not None else None
    if service is None or fields is None:
        return None
    return service, fields


async def begin(
    callback: CallbackQuery,
    callback_data: SeveralLinks,
    state: FSMContext,
    desk: OrderDesk,
    callback_answer: CallbackAnswer,
) -> None:
    snapshot = await desk.catalog.snapshot()
    service = snapshot.service(callback_data.service) if snapshot is not None else None
    fields = link_fields(service) if service is not None else None
    if service is None or fields is None:
        await screens.expired(callback, callback_answer, _("This service is no longer offered."))
        return
    await state.set_state(SeveralLinksForm.links)
    shown = await screens.show(callback, links_prompt(service, fields), keyboards.several_prompt())
    await state.set_data(SeveralData(service=service.id, live=shown.message_id).model_dump())


def links_prompt(service: Service, fields: LinkFields, problems: Sequence[str] = ()) -> str:
    lines = [f"⚠️ {quote(p)}" for p in problems[:10]]
    if len(problems) > 10:
        lines.append(_("…and {count} more.").format(count=number(len(problems) - 10)))
    if lines:
        lines.append("")
    lines += [
        _("📋 <b>{service}</b>: several links").format(service=quote(service.name)),
        _(
            "Send up to 50 links, one per line. To order a different amount for one, put "
            "it after the link: <code>https://… 500</code>."
        ),
    ]
    if fields.amount.low is not None and fields.amount.high is not None:
        lines.append(
            _("Amounts from {low} to {high}.").format(
                low=number(fields.amount.low), high=number(fields.amount.high)
            )
        )
    return "\n".join(lines)


async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await screens.show(
        callback,
        _("✖️ Order cancelled. Nothing was ordered.\n") + screens.main_menu_text(),
        keyboards.main_menu(),
    )


async def links_sent(message: Message, state: FSMContext, desk: OrderDesk) -> None:
    data = await _form(state)
    found = await _service(desk, data) if data is not None else None
    if data is None or found is None:
        await state.clear()
        await message.answer(
            _("This service is no longer offered."), reply_markup=keyboards.to_menu()
        )
        return
    service, fields = found
    lines, problems = read_lines(message.text or "", fields)
    if problems or not lines:
        problems = problems or [_("Send at least one link.")]
        shown = await message.answer(
            links_prompt(service, fields, problems), reply_markup=keyboards.several_prompt()
        )
        await screens.retire(message, data.live)
        data.live = shown.message_id
        await state.set_data(data.model_dump())
        return
    data.lines = [(line.link, line.amount) for line in lines]
    await screens.retire(message, data.live)
    if all(line.amount is not None for line in lines):
        await _review(message, state, desk, data, (service, fields), new_message=True)
        return
    await state.set_state(SeveralLinksForm.amount)
    shown = await message.answer(
        amount_prompt(fields, sum(1 for line in lines if line.amount is None)),
        reply_markup=keyboards.several_amounts(fields.amount.presets),
    )
    data.live = shown.message_id
    await state.set_data(data.model_dump())


def amount_prompt(fields: LinkFields, without: int, problem: str = "") -> str:
    lines = [f"⚠️ {quote(problem)}", ""] if problem else []
    lines.append(_("🔢 One amount for the {count} links without their own:").format(count=without))
    if fields.amount.low is not None and fields.amount.high is not None:
        lines.append(
            _("Send a whole number from {low} to {high}.").format(
                low=number(fields.amount.low), high=number(fields.amount.high)
            )
        )
    return "\n".join(lines)


async def amount_typed(message: Message, state: FSMContext, desk: OrderDesk) -> None:
    await _take_amount(message, state, desk, message.text or "")


async def amount_picked(
    callback: CallbackQuery, callback_data: SeveralStep, state: FSMContext, desk: OrderDesk
) -> None:
    await _take_amount(callback, state, desk, str(callback_data.value))


async def _take_amount(event: Event, state: FSMContext, desk: OrderDesk, typed: str) -> None:
    data = await _form(state)
    found = await _service(desk, data) if data is not None else None
    if data is None or found is None:
        await state.clear()
        await screens.show(event, _("This service is no longer offered."), keyboards.to_menu())
        return
    fields = found[1]
    try:
        data.rest = int(fields.amount.check(typed))
    except ValueError as exc:
        without = sum(1 for _link, amount in data.lines if amount is None)
        asked = await screens.show(
            event,
            amount_prompt(fields, without, str(exc)),
            keyboards.several_amounts(fields.amount.presets),
        )
        if isinstance(event, Message):  # the question again, below: the old one retires
            await screens.retire(event, data.live)
            data.live = asked.message_id
            await state.set_data(data.model_dump())
        return
    if isinstance(event, Message):
        await screens.retire(event, data.live)
    await _review(event, state, desk, data, found, new_message=isinstance(event, Message))


def _orders_of(data: SeveralData, service: Service, fields: LinkFields) -> list[Draft]:
    drafts = []
    for link, own in data.lines:
        amount = own if own is not None else data.rest
        if amount is None:
            continue
        values = {fields.link.param: link, fields.amount.param: str(amount)}
        drafts.append(Draft(service.id, service.name, values, amount, service.price.total(amount)))
    return drafts


async def _review(
    event: Event,
    state: FSMContext,
    desk: OrderDesk,
    data: SeveralData,
    found: tuple[Service, LinkFields],
    *,
    new_message: bool,
) -> None:
    """The confirmation: each line (the first ten), the number of orders, the total and the
    balance after; Place only when the balance pays for them all."""
    service, fields = found
    drafts = _orders_of(data, service, fields)
    try:
        funds: Decimal | None = await desk.balance.get()
    except PanelException:
        funds = None
    totals = [d.total for d in drafts]
    cost = None if any(t is None for t in totals) else sum((t for t in totals if t), Decimal(0))
    currency = desk.settings.panel_currency
    lines = [_("<b>Please check your orders</b>"), quote(service.name)]
    for at, draft in enumerate(drafts[:SHOWN_LINES], 1):
        link = draft.values[fields.link.param]
        lines.append(f"{at}. {quote(short(link, 60))} · {number(draft.quantity or 0)}")
    if len(drafts) > SHOWN_LINES:
        lines.append(_("…and {count} more.").format(count=number(len(drafts) - SHOWN_LINES)))
    pays = cost is not None and (funds is None or cost <= funds)
    summary = _("📦 Orders: {count}").format(count=number(len(drafts)))
    if cost is None:
        lines.append(summary)
    elif funds is None:
        lines.append(
            f"{summary} · " + _("💵 Total: {total}").format(total=quote(money(cost, currency)))
        )
        lines.append(_("💰 Balance: unavailable right now"))
    elif pays:
        lines.append(
            f"{summary} · "
            + _("💵 Total: {total} · balance after: {after}").format(
                total=quote(money(cost, currency)), after=quote(held(funds - cost, currency))
            )
        )
    else:
        lines.append(
            f"{summary} · " + _("💵 Total: {total}").format(total=quote(money(cost, currency)))
        )
        lines.append(
            _(
                "⚠️ Your balance ({balance}) doesn't cover this total. Top up on the "
                "panel, or send fewer links."
            ).format(balance=quote(held(funds, currency)))
        )
    data.token = data.token or secrets.token_urlsafe(12)
    data.terms = service_terms(service)
    markup = keyboards.several_confirmation(
        data.token,
        len(drafts),
        together=data.together,
        pays=pays,
        topup_url=desk.settings.panel_topup_url,
    )
    text = "\n".join(lines)
    shown = await (
        screens.send(event, text, markup) if new_message else screens.show(event, text, markup)
    )
    data.live = shown.message_id
    await state.set_state(SeveralLinksForm.confirming)
    await state.set_data(data.model_dump())


async def switch_telling(
    callback: CallbackQuery, state: FSMContext, desk: OrderDesk, callback_answer: CallbackAnswer
) -> None:
    data = await _form(state)
    found = await _service(desk, data) if data is not None else None
    if data is None or found is None or callback.message is None:
        await screens.expired(callback, callback_answer)
        return
    data.together = not data.together
    await _review(callback, state, desk, data, found, new_message=False)


async def confirm(
    callback: CallbackQuery,
    callback_data: SeveralConfirm,
    state: FSMContext,
    desk: OrderDesk,
    callback_answer: CallbackAnswer,
) -> None:
    person = callback.from_user
    token = callback_data.token
    data = await _form(state)
    on_screen = await state.get_state() == SeveralLinksForm.confirming.state
    if data is None or not on_screen or data.token != token:
        if await batches.get(desk.db, person.id, token) is None:
            await screens.expired(callback, callback_answer)
        else:  # a tap after the work was done: its outcome is on screen
            callback_answer.text = _("These orders were already sent.")
        return
    found = await _service(desk, data)
    if found is None or callback.message is None:
        await state.clear()
        await screens.expired(callback, callback_answer, _("This service is no longer offered."))
        return
    service, fields = found
    if data.terms != service_terms(service):
        # The catalog changed under the confirmation: place nothing it did not show.
        callback_answer.text = _("The service changed: nothing was ordered. Please check again.")
        await _review(callback, state, desk, data, found, new_message=False)
        return
    drafts = _orders_of(data, service, fields)
    # Recorded first: a restart mid-batch, then a tap on the same Place (or on "Send the
    # rest" under the progress), sends only the lines that were never sent: each line's
    # token is the batch's and its number.
    await batches.start(desk.db, token, person.id, len(drafts), summary=data.together)
    callback_answer.disable()
    await screens.answer(callback)
    progress = Progress(callback, len(drafts), token)
    gate = asyncio.Semaphore(AT_ONCE)
    chat_id = callback.message.chat.id

    async def place(line: int, draft: Draft) -> Placement:
        async with gate:
            placement = await desk.placements.place(
                desk.panel,
                token=f"{token}:{line}",
                user_id=person.id,
                chat_id=chat_id,
                account=desk.account,
                draft=draft,
                first_check_in=desk.settings.check_interval_seconds,
                batch=token,
            )
        if placement.message is not None:
            # Held for this batch's message; if that never comes, its lease ends and the
            # notifier sends it on its own.
            await desk.notifier.take(placement.message)
        await progress.one_more()
        return placement

    placements = await asyncio.gather(*(place(n, d) for n, d in enumerate(drafts)))
    await after_order(desk.balance, desk.db, desk.account)
    unsent = sum(1 for p in placements if p.outcome is Outcome.NOT_SENT)
    text = short(batch_summary(placements, desk.settings.panel_currency), 4000)
    if unsent:
        markup = keyboards.several_resend(token, unsent)
    else:
        await state.clear()
        markup = keyboards.to_orders_and_menu()
    try:
        await screens.show(callback, text, markup)
    except TelegramAPIError as exc:
        # Each order's own word stays queued: the notifier tells them one by one.
        logger.info("could not show a batch's outcome: %s", exc)
        return
    for placement in placements:  # told here, every one of them
        if placement.message is not None:
            await desk.notifier.told(placement.message)
        elif placement.outcome is Outcome.ALREADY:
            untold = await orders.unsent_answer(desk.db, placement.order)
            if untold is not None and not desk.placements.busy_with(placement.order.token):
                await desk.notifier.told(untold)


class Progress:
    """The confirmation, edited as lines are sent (at most once a second), with a button
    that sends whatever was not sent: after a restart mid-batch, the way to finish it."""

    def __init__(self, callback: CallbackQuery, count: int, token: str) -> None:
        self._callback = callback
        self._count = count
        self._token = token
        self._done = 0
        self._shown_at = 0.0

    async def one_more(self) -> None:
        self._done += 1
        now = time.monotonic()
        if self._done == self._count or now - self._shown_at < PROGRESS_EVERY:
            return
        self._shown_at = now
        text = _("⏳ Placing {count} orders… {done} of {count} sent.").format(
            count=number(self._count), done=number(self._done)
        )
        try:
            await screens.show(self._callback, text, keyboards.several_rest(self._token))
        except TelegramAPIError as exc:  # progress is a courtesy: the outcome still comes
            logger.debug("progress not shown: %s", exc)


def batch_summary(placements: list[Placement], currency: str) -> str:
    """What became of each line: placed (their ids), refused (the panel's words, lines with
    the same words together), unknown, still being sent, not sent."""
    numbered = list(enumerate(placements, 1))
    placed = [p.order for _n, p in numbered if p.order.panel_order_id]
    charged = sum((o.charged or o.total or Decimal(0) for o in placed), Decimal(0))
    lines = [
        _("✅ Placed {placed} of {count} orders · {total}").format(
            placed=number(len(placed)),
            count=number(len(placements)),
            total=quote(money(charged, currency)),
        )
    ]
    if placed:
        ids = ", ".join(f"#{o.panel_order_id}" for o in placed[:SHOWN_IDS])
        more = len(placed) - SHOWN_IDS
        lines.append(
            quote(ids) + (" " + _("…and {count} more.").format(count=more) if more > 0 else "")
        )
    refused: dict[str, list[int]] = {}
    unknown, sending = [], []
    for at, placement in numbered:
        order = placement.order
        if order.panel_order_id or placement.outcome is Outcome.NOT_SENT:
            continue
        if order.state is OrderState.REJECTED:
            refused.setdefault(placement.refusal or order.error or "", []).append(at)
        elif order.state is OrderState.UNCERTAIN:
            unknown.append(at)
        elif order.state is OrderState.SUBMITTING:
            sending.append(at)
    for reason, where in refused.items():
        lines.append(
            _("❌ Refused, lines {lines}: «{reason}»").format(
                lines=_line_numbers(where), reason=quote(short(reason, 200))
            )
        )
    if unknown:
        lines.append(
            _(
                "❓ No answer from the panel, lines {lines}: they may or may not exist. "
                "See My orders."
            ).format(lines=_line_numbers(unknown))
        )
    if sending:
        lines.append(
            _("⏳ Still being sent, lines {lines}: you'll hear what becomes of them.").format(
                lines=_line_numbers(sending)
            )
        )
    unsent = [n for n, p in numbered if p.outcome is Outcome.NOT_SENT]
    if unsent:
        lines.append(
            _("⏸ Not sent, nothing ordered: lines {lines}. Tap below to send them.").format(
                lines=_line_numbers(unsent)
            )
        )
    return "\n".join(lines)


def _line_numbers(numbers: list[int]) -> str:
    return short(", ".join(str(n) for n in numbers), 200)
