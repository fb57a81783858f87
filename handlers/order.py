"""The order wizard: one prompt per field of the service, a confirmation, and placement.

The wizard lives in the FSM (SQLite), so a restart continues at the same step with the same
values. A refused value gets the reason and the same prompt again; a refusal from the panel
returns the person to the field concerned. Confirm places the order at most once.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel, ValidationError

from bot.balances import Balance
from bot.catalog import Catalog, CatalogSnapshot
from bot.config import Settings
from bot.formatting import money, number, quote, short
from bot.ordering import Draft, Outcome, Placement, Placements
from bot.params import FieldKind, FieldSpec, InvalidValue, fields_of, quantity, total
from bot.smmlaba import Panel, PanelException, Service
from handlers import keyboards, screens
from handlers.callbacks import Confirm, OrderService, Step
from handlers.catalog import card_text
from handlers.filters import NotText, TypedText
from handlers.middlewares import require_panel
from handlers.screens import Event
from handlers.states import OrderWizard
from storage import orders
from storage.db import Database

if TYPE_CHECKING:  # bot.notifier renders with handlers' keyboards: imported by name only
    from bot.notifier import Notifier


class WizardData(BaseModel):
    """What the wizard remembers between updates (stored as JSON in the FSM)."""

    service: str
    values: dict[str, str] = {}
    step: int = 0
    live: int | None = None  # the message whose buttons are current
    token: str | None = None  # of the confirmation on screen
    editing: bool = False  # changing one value from the confirmation
    refused: str | None = None  # the field the panel complained about
    terms: str | None = None  # the service's price and rules as the confirmation showed them


def build_router() -> Router:
    router = Router(name=__name__)
    require_panel(router)
    entering, confirming = StateFilter(OrderWizard.entering), StateFilter(OrderWizard.confirming)
    router.callback_query.register(begin, OrderService.filter())
    router.callback_query.register(entering_step, entering, Step.filter())
    router.message.register(typed_value, entering, TypedText())
    router.message.register(not_text, entering, NotText())
    router.callback_query.register(confirming_step, confirming, Step.filter())
    router.callback_query.register(confirm, Confirm.filter())
    return router


async def load(state: FSMContext) -> WizardData | None:
    try:
        return WizardData.model_validate(await state.get_data())
    except ValidationError:
        return None


@dataclass
class Wizard:
    """An order in progress, for the length of one update: what each of the wizard's
    screens needs, gathered once."""

    event: Event
    state: FSMContext
    service: Service
    fields: list[FieldSpec]
    data: WizardData
    balance: Balance
    settings: Settings

    @property
    def spec(self) -> FieldSpec:
        """The field being asked for."""
        return self.fields[self.data.step]

    async def show_prompt(self, *, warning: str = "", new_message: bool = False) -> None:
        data = self.data
        await self.state.set_state(OrderWizard.entering)
        if data.editing or data.step == len(self.fields) - 1:
            self.balance.ask()  # the confirmation comes next: its balance is on the way
        text = prompt_text(self.service, self.fields, data, warning)
        markup = keyboards.prompt(self.spec, has_value=self.spec.param in data.values)
        await self._show(text, markup, new_message=new_message)
        await self.save()

    async def advance(self, *, new_message: bool) -> None:
        """On to the next prompt; after the last one (or the one value being changed), to
        the confirmation."""
        if not self.data.editing and self.data.step + 1 < len(self.fields):
            self.data.step += 1
            await self.show_prompt(new_message=new_message)
        else:
            await self.review(new_message=new_message)

    async def review(self, *, new_message: bool = False, notice: str = "") -> None:
        """Show the confirmation: every value, the exact total and the balance; `notice`
        above them says why it is shown again."""
        data = self.data
        data.editing = False
        problem = first_problem(self.fields, data.values)
        if problem is not None:
            data.step, warning = problem
            await self.show_prompt(warning=warning, new_message=new_message)
            return
        data.token = secrets.token_urlsafe(12)
        data.terms = service_terms(self.service)
        try:
            funds: Decimal | None = await self.balance.get()
        except PanelException:
            funds = None
        text = confirmation_text(
            self.service, self.fields, data.values, funds, self.settings.panel_currency
        )
        if notice:
            text = f"{notice}\n\n{text}"
        await self._show(text, keyboards.confirmation(data.token), new_message=new_message)
        await self.state.set_state(OrderWizard.confirming)
        await self.save()

    async def save(self) -> None:
        await self.state.set_data(self.data.model_dump())

    async def _show(self, text: str, markup: InlineKeyboardMarkup, *, new_message: bool) -> None:
        """The screen, as a new message or in place of the one tapped: the live one now."""
        if new_message:
            message = await screens.send(self.event, text, markup)
        else:
            message = await screens.show(self.event, text, markup)
        self.data.live = message.message_id


async def wizard_of(
    event: Event,
    state: FSMContext,
    data: WizardData | None,
    catalog: Catalog,
    balance: Balance,
    settings: Settings,
) -> Wizard | None:
    """The order in progress; when its service is gone, say so and leave the wizard."""
    snapshot: CatalogSnapshot | None = await catalog.snapshot()
    service = snapshot.by_id(data.service) if (snapshot and data) else None
    if service is None or data is None:
        await state.clear()
        await screens.send(
            event,
            _("This order can't continue: the service is no longer offered. Start a new one:"),
            keyboards.main_menu(),
        )
        return None
    return Wizard(event, state, service, fields_of(service), data, balance, settings)


async def live_wizard(
    callback: CallbackQuery,
    state: FSMContext,
    catalog: Catalog,
    balance: Balance,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> Wizard | None:
    """The order a button belongs to: only the live message's buttons count."""
    data = await load(state)
    if data is None or callback.message is None or callback.message.message_id != data.live:
        await screens.expired(callback, callback_answer)
        return None
    return await wizard_of(callback, state, data, catalog, balance, settings)


# -- prompts -----------------------------------------------------------------------------


def prompt_text(
    service: Service, fields: list[FieldSpec], data: WizardData, warning: str = ""
) -> str:
    spec = fields[data.step]
    lines = []
    if warning:
        lines.append(_("⚠️ {reason} Try again:").format(reason=quote(warning)))
    lines.append(
        _("<b>Step {n} of {total}</b> · {label}").format(
            n=data.step + 1, total=len(fields), label=quote(spec.label)
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
        lines.append(
            _("Send a link that contains {parts}.").format(parts=quote(spec.describe_fragments()))
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
    lines.append(f"<i>{quote(service.name)}</i>")
    return "\n".join(lines)


def shown(spec: FieldSpec, value: str) -> str:
    if spec.multiline:
        lines = [line for line in value.splitlines() if line.strip()]
        first = lines[0] if lines else ""
        more = _(" (+{count} more lines)").format(count=len(lines) - 1) if len(lines) > 1 else ""
        return quote(short(first)) + more
    return quote(short(value))


async def begin(
    callback: CallbackQuery,
    callback_data: OrderService,
    catalog: Catalog,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    balance: Balance,
    settings: Settings,
) -> None:
    snapshot = await catalog.snapshot()
    service = snapshot.service(callback_data.service) if snapshot else None
    if service is None:
        await screens.expired(callback, callback_answer)
        return
    await start_wizard(callback, state, service, {}, balance=balance, settings=settings)


async def start_wizard(
    event: Event,
    state: FSMContext,
    service: Service,
    values: dict[str, str],
    *,
    balance: Balance,
    settings: Settings,
) -> None:
    """Begin an order for `service`; with `values` (Order again) go straight to the check."""
    data = WizardData(service=service.id, values=dict(values))
    await Wizard(event, state, service, fields_of(service), data, balance, settings).review()


async def entering_step(
    callback: CallbackQuery,
    callback_data: Step,
    state: FSMContext,
    catalog: Catalog,
    balance: Balance,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    wizard = await live_wizard(callback, state, catalog, balance, settings, callback_answer)
    if wizard is None:
        return
    data, action = wizard.data, callback_data.action
    if action == "cancel":
        await cancelled(callback, state)
    elif action == "back":
        if data.editing:
            await wizard.review()
        elif data.step > 0:
            data.step -= 1
            await wizard.show_prompt()
        else:
            await state.clear()
            await back_to_card(callback, wizard.service, catalog, settings, callback_answer)
    elif answered(wizard.spec, callback_data, data.values):
        await wizard.advance(new_message=False)
    else:
        await screens.expired(callback, callback_answer)


async def back_to_card(
    callback: CallbackQuery,
    service: Service,
    catalog: Catalog,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    snapshot = await catalog.snapshot()
    found = snapshot.location(service) if snapshot is not None else None
    if found is None:
        await screens.expired(callback, callback_answer)
        return
    platform, category = found
    await screens.show(
        callback, card_text(service, settings), keyboards.service_card(service, platform, category)
    )


def answered(spec: FieldSpec, button: Step, values: dict[str, str]) -> bool:
    """Apply a prompt's button (a choice, Skip, Keep) to `values`; False if it does not fit
    the prompt (an old button, or forged)."""
    if button.action == "pick" and spec.kind is FieldKind.CHOICE:
        if not 0 <= button.index < len(spec.choices):
            return False
        values[spec.param] = spec.choices[button.index]
        return True
    if button.action == "skip" and not spec.required:
        values.pop(spec.param, None)
        return True
    return button.action == "keep" and spec.param in values


async def typed_value(
    message: Message, state: FSMContext, catalog: Catalog, balance: Balance, settings: Settings
) -> None:
    wizard = await wizard_of(message, state, await load(state), catalog, balance, settings)
    if wizard is None:
        return
    spec, prompt = wizard.spec, wizard.data.live
    try:
        value = spec.check(message.text or "")
    except InvalidValue as problem:
        await asyncio.gather(
            screens.retire(message, prompt),
            wizard.show_prompt(warning=str(problem), new_message=True),
        )
        return
    wizard.data.values[spec.param] = value
    # The answered prompt stays in the chat as a record of what was given, edited while the
    # next screen is made (the confirmation waits on the panel for the balance).
    await asyncio.gather(
        screens.retire(message, prompt, f"✓ {quote(spec.label)}: {shown(spec, value)}"),
        wizard.advance(new_message=True),
    )


async def not_text(message: Message) -> None:
    await message.answer(_("Please send the value as a text message, or press a button above."))


async def cancelled(event: Event, state: FSMContext) -> None:
    await state.clear()
    await screens.show(
        event,
        _("✖️ Order cancelled. Nothing was ordered.\n") + screens.main_menu_text(),
        keyboards.main_menu(),
    )


# -- confirmation ------------------------------------------------------------------------


def first_problem(fields: list[FieldSpec], values: dict[str, str]) -> tuple[int, str] | None:
    """The first field whose value is missing or no longer valid, with the reason."""
    for index, spec in enumerate(fields):
        value = values.get(spec.param)
        if value is None:
            if spec.required:
                return index, ""
            continue
        try:
            spec.check(value)
        except InvalidValue as problem:
            return index, str(problem)
    return None


def confirmation_text(
    service: Service,
    fields: list[FieldSpec],
    values: dict[str, str],
    balance: Decimal | None,
    currency: str,
) -> str:
    cur = quote(currency)
    lines = [_("<b>Please check your order</b>"), quote(service.name)]
    for spec in fields:
        if spec.param in values:
            icon = {"fragments": "🔗", "number": "🔢"}.get(spec.kind.value, "▫️")
            lines.append(f"{icon} {quote(spec.label)}: {shown(spec, values[spec.param])}")
    amount = total(service, values)
    if amount is None:
        lines.append(_("💵 Price: {price}").format(price=quote(service.price.text or "?")))
    elif balance is None:
        lines.append(_("💵 Total: {total} {cur}").format(total=money(amount), cur=cur))
        lines.append(_("💰 Balance: unavailable right now"))
    else:
        lines.append(
            _("💵 Total: {total} {cur} · balance after: {after} {cur}").format(
                total=money(amount), cur=cur, after=money(balance - amount)
            )
        )
        if balance < amount:
            lines.append(
                _(
                    "⚠️ Your balance ({balance} {cur}) is short of the total. "
                    "Top up on the panel, then confirm."
                ).format(balance=money(balance), cur=cur)
            )
    return "\n".join(lines)


async def confirming_step(
    callback: CallbackQuery,
    callback_data: Step,
    state: FSMContext,
    catalog: Catalog,
    balance: Balance,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    wizard = await live_wizard(callback, state, catalog, balance, settings, callback_answer)
    if wizard is None:
        return
    data, fields = wizard.data, wizard.fields
    action, index = callback_data.action, callback_data.index
    if action == "cancel":
        await cancelled(callback, state)
    elif action == "change" or (action == "fix" and data.refused is None):
        data.token = None
        await wizard.save()
        await screens.show(
            callback, _("Which value do you want to change?"), keyboards.change(fields)
        )
    elif action == "review":
        await wizard.review()
    elif action in ("field", "fix"):
        if action == "fix":
            index = next(i for i, spec in enumerate(fields) if spec.param == data.refused)
        if not 0 <= index < len(fields):
            await screens.expired(callback, callback_answer)
            return
        data.step, data.editing, data.token = index, True, None
        await wizard.show_prompt()
    else:
        await screens.expired(callback, callback_answer)


def refused_field(fields: list[FieldSpec], refusal: str) -> str | None:
    """The field the panel's refusal names, if it names one."""
    text = refusal.casefold()
    for spec in fields:
        if spec.label.casefold() in text or f"param: {spec.param}".casefold() in text:
            return spec.param
    return None


def service_terms(service: Service) -> str:
    """Everything about a service that decides what an order costs and what is sent."""
    return service.model_dump_json(include={"id", "price", "params"})


async def confirm(
    callback: CallbackQuery,
    callback_data: Confirm,
    state: FSMContext,
    db: Database,
    catalog: Catalog,
    panel: Panel,
    balance: Balance,
    settings: Settings,
    account: str,
    placements: Placements,
    notifier: Notifier,
    callback_answer: CallbackAnswer,
) -> None:
    person = callback.from_user
    data = await load(state)
    current = await state.get_state()
    if (
        current != OrderWizard.confirming.state
        or data is None
        or data.token != callback_data.token
        or callback.message is None
        or callback.message.message_id != data.live
    ):
        earlier = await orders.get_by_token(db, person.id, callback_data.token)
        if earlier is None:
            await screens.expired(callback, callback_answer)
        else:
            callback_answer.text = _("This order was already sent.")
        return
    wizard = await wizard_of(callback, state, data, catalog, balance, settings)
    if wizard is None:
        return
    service = wizard.service
    if data.terms != service_terms(service):
        # The catalog changed under the confirmation: place nothing it did not show.
        callback_answer.text = _("The service changed: nothing was ordered. Please check again.")
        await wizard.review(notice=changed_notice(data.terms, service))
        return
    placement = await placements.place(
        panel,
        token=callback_data.token,
        user_id=person.id,
        chat_id=callback.message.chat.id,
        account=account,
        draft=Draft(
            service_id=service.id,
            service_name=service.name,
            values=data.values,
            quantity=quantity(service, data.values),
            total=total(service, data.values),
        ),
        first_check_in=settings.check_interval_seconds,
    )
    if placement.outcome is Outcome.ALREADY:
        callback_answer.text = _("This order was already sent.")
        await screens.retire(callback, data.live)
        return
    if placement.outcome is Outcome.NOT_SENT:
        callback_answer.text = _("Not sent: nothing was ordered. Please confirm again.")
        await wizard.review(
            notice=_(
                "⚠️ The order was not sent: I couldn't reach SMMLaba. Nothing was ordered "
                "or charged — please confirm again."
            )
        )
        return
    # The tap is answered, and the confirmation loses its buttons, while the outcome is told.
    callback_answer.disable()
    await asyncio.gather(
        screens.answer(callback),
        screens.retire(callback, data.live),
        tell(wizard, placement, notifier),
    )


def changed_notice(shown_terms: str | None, service: Service) -> str:
    """What changed in the service since the confirmation was shown."""
    was = json.loads(shown_terms) if shown_terms else {}
    now = json.loads(service_terms(service))
    lines = []
    if was.get("price") != now["price"]:
        lines.append(
            _("⚠️ The price changed since you saw it: {was} → {now}.").format(
                was=quote(str(was.get("price") or "?")), now=quote(str(now["price"] or "?"))
            )
        )
    if was.get("params") != now["params"]:
        lines.append(_("⚠️ The service's rules for its fields changed since you saw them."))
    if not lines:
        lines.append(_("⚠️ The service changed since you saw it."))
    lines.append(_("Nothing was ordered. Here is the order as it stands now:"))
    return "\n".join(lines)


async def tell(wizard: Wizard, placement: Placement, notifier: Notifier) -> None:
    """What became of the order: placed, refused (back to the field concerned), or unknown.
    Placed and unknown go through the outbox (`placement.message`): delivered now, and by the
    notifier if Telegram refuses it now."""
    callback, state, data = wizard.event, wizard.state, wizard.data
    if placement.outcome is Outcome.REJECTED:
        data.token = None
        data.refused = refused_field(wizard.fields, f"{placement.refusal} {placement.detail}")
        message = await screens.send(
            callback,
            _("❌ The panel refused the order: «{reason}».").format(
                reason=quote(placement.refusal or "")
            ),
            keyboards.refusal(),
        )
        data.live = message.message_id
        await wizard.save()
        if placement.message is not None:  # said here, with the buttons to fix the order
            await notifier.told(placement.message)
        return
    await state.clear()
    if placement.message is not None:
        await notifier.deliver(placement.message, locale=get_i18n().current_locale)
    elif not placement.recorded:
        order = placement.order
        await screens.send(
            callback,
            _(
                "✅ Order #{id} is on the panel, but I couldn't save it here yet. I'm retrying; "
                "it needs nothing from you."
            ).format(id=quote(order.panel_order_id or "")),
            keyboards.to_menu(),
        )
