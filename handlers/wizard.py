"""The order wizard's screens: a prompt or the confirmation, in the live message.

Shared by the wizard's router (`handlers/order.py`) and Order again (`handlers/orders.py`).
The steps themselves are `bot.order_form`; this module only shows where they lead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from pydantic import ValidationError

from bot.balances import Balance
from bot.catalog import Catalog
from bot.config import Settings
from bot.notifier import Notifier
from bot.order_form import Next, OrderForm, Problem, WizardData
from bot.ordering import Placements
from bot.params import most_affordable, total
from bot.smmlaba import Panel, PanelException, Service
from handlers import keyboards, order_texts, screens
from handlers.screens import Event
from handlers.states import OrderWizard
from storage import orders
from storage.db import Database

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderDesk:
    """What ordering needs for one person's update: their panel account (its client, name,
    catalog and their balance on it) and the bot's settings, placements, notifier and
    database."""

    panel: Panel
    account: str  # its name, which the order records
    catalog: Catalog
    balance: Balance
    settings: Settings
    placements: Placements
    notifier: Notifier
    db: Database


async def with_desk(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    """Gathers the `desk` for the wizard's handlers (after `require_panel`: an account is
    there)."""
    data["desk"] = OrderDesk(
        panel=data["panel"],
        account=data["account"].name,
        catalog=data["catalog"],
        balance=data["balance"],
        settings=data["settings"],
        placements=data["placements"],
        notifier=data["notifier"],
        db=data["db"],
    )
    return await handler(event, data)


async def load(state: FSMContext) -> WizardData | None:
    try:
        return WizardData.model_validate(await state.get_data())
    except ValidationError:
        return None


@dataclass
class WizardScreens:
    """An order in progress, for the length of one update: its form and where to show it."""

    event: Event
    state: FSMContext
    form: OrderForm
    balance: Balance
    currency: str
    topup_url: str | None = None

    async def go(self, step: Next, *, new_message: bool = False) -> None:
        """Show the screen a step leads to (not the card: leaving is the router's)."""
        if step is Next.REVIEW:
            await self.review(new_message=new_message)
        else:
            await self.show_prompt(new_message=new_message)

    async def show_prompt(self, *, warning: str = "", new_message: bool = False) -> None:
        await self.state.set_state(OrderWizard.entering)
        if self.form.last_question:
            self.balance.ask()  # the confirmation comes next: its balance is on the way
        spec = self.form.spec
        markup = keyboards.prompt(spec, has_value=spec.param in self.form.data.values)
        await self._show(order_texts.prompt(self.form, warning), markup, new_message=new_message)
        await self.save()

    async def ask_again(self, refused: Message, reason: str) -> None:
        """A typed value refused: the prompt again, at the bottom of the chat, headed by the
        one line that says why. The refused message and the prompt it answered are deleted,
        so wrong tries never pile up; a message Telegram won't delete stays (the old prompt
        without its buttons). Sent anew rather than edited in place: anything that came
        below the prompt meanwhile (a notification, a command's answer) would hide an edit."""
        asked = self.form.data.live
        await asyncio.gather(
            self.show_prompt(warning=reason, new_message=True),
            delete(refused, refused.message_id),
        )
        if asked is not None and not await delete(self.event, asked):
            await screens.retire(self.event, asked)

    async def remind(self, stray: Message) -> None:
        """Something typed while the confirmation waits for a tap: the confirmation again, at
        the bottom, headed by the one line that says what it waits for. As `ask_again`: the
        stray message and the confirmation it followed are deleted (or the latter loses its
        buttons), so they never pile up. The balance is the one just shown: no panel call."""
        shown = self.form.data.live
        await asyncio.gather(
            self.review(new_message=True, reminder=True, known_balance=True),
            delete(stray, stray.message_id),
        )
        if shown is not None and not await delete(self.event, shown):
            await screens.retire(self.event, shown)

    async def review(
        self,
        *,
        new_message: bool = False,
        notice: str = "",
        known_balance: bool = False,
        reminder: bool = False,
    ) -> None:
        """Show the confirmation: every value, the exact total and the balance; `notice`
        above them says why it is shown again, `reminder` that it waits for a tap;
        `known_balance`: the balance last seen, if recent, rather than a request. A value
        missing or no longer valid is asked for instead."""
        opened = self.form.open_review()
        if isinstance(opened, Problem):
            await self.show_prompt(warning=opened.reason, new_message=new_message)
            return
        funds = self.balance.known() if known_balance else None
        if funds is None:
            try:
                funds = await self.balance.get()
            except PanelException:
                funds = None
        service, values = self.form.service, self.form.data.values
        cost = total(service, values)
        short = funds is not None and cost is not None and cost > funds
        if funds is not None and short:
            # Said before Confirm: the panel would refuse it.
            affordable = most_affordable(service, values, funds)
            amount = affordable[1] if affordable is not None else None
            markup = keyboards.short_of_funds(amount, self.topup_url)
        else:
            markup = keyboards.confirmation(opened)
        if reminder:
            waits = _("Top up, order less, or /cancel.") if short else None
            notice = "⚠️ " + (waits or _("Tap ✅ Confirm below or /cancel."))
        text = order_texts.confirmation(self.form, funds, self.currency)
        if notice:
            text = f"{notice}\n\n{text}"
        await self._show(text, markup, new_message=new_message)
        await self.state.set_state(OrderWizard.confirming)
        await self.save()

    async def save(self) -> None:
        await self.state.set_data(self.form.data.model_dump())

    async def _show(self, text: str, markup: InlineKeyboardMarkup, *, new_message: bool) -> None:
        """The screen, as a new message or in place of the one tapped: the live one now."""
        if new_message:
            message = await screens.send(self.event, text, markup)
        else:
            message = await screens.show(self.event, text, markup)
        self.form.data.live = message.message_id


async def delete(event: Event, message_id: int) -> bool:
    """Delete a message of the person's chat, theirs or the bot's. Tidying only: False when
    Telegram refuses (a message older than 48 hours, one already gone), and the step goes on."""
    if event.bot is None or event.from_user is None:
        return False
    try:
        return await event.bot.delete_message(chat_id=event.from_user.id, message_id=message_id)
    except TelegramAPIError as exc:
        logger.debug("could not delete message %s: %s", message_id, exc.message)
        return False


async def resume(
    event: Event, state: FSMContext, desk: OrderDesk, data: WizardData | None
) -> WizardScreens | None:
    """The order in progress; when its service is gone, say so and leave the wizard."""
    snapshot = await desk.catalog.snapshot()
    service = snapshot.by_id(data.service) if (snapshot and data) else None
    if service is None or data is None:
        await state.clear()
        await screens.send(
            event,
            _("This order can't continue: the service is no longer offered. Start a new one:"),
            keyboards.main_menu(),
        )
        return None
    if data.token is not None and await spent(event, state, desk, data.token, data.live):
        return None
    form = OrderForm(service, data)
    settings = desk.settings
    return WizardScreens(
        event, state, form, desk.balance, settings.panel_currency, settings.panel_topup_url
    )


async def spent(
    event: Event, state: FSMContext, desk: OrderDesk, token: str, live: int | None
) -> bool:
    """Whether the confirmation on screen was confirmed already: its order exists (a restart
    came between the tap and its answer). Then the wizard ends, and its confirmation loses its
    buttons: nothing may make a new confirmation of an order that may be on the panel. While
    the tap is still being answered here, that answer says what became of it."""
    if event.from_user is None:
        return False
    if await orders.get_by_token(desk.db, event.from_user.id, token) is None:
        return False
    if not desk.placements.busy_with(token):
        await state.clear()
        await screens.retire(event, live)
        await screens.send(
            event,
            _("This order was already sent: its message above says where it stands."),
            keyboards.main_menu(),
        )
    return True


async def resume_live(
    callback: CallbackQuery, state: FSMContext, desk: OrderDesk, callback_answer: CallbackAnswer
) -> WizardScreens | None:
    """The order a button belongs to: only the live message's buttons count."""
    data = await load(state)
    if data is None or callback.message is None or callback.message.message_id != data.live:
        await screens.expired(callback, callback_answer)
        return None
    return await resume(callback, state, desk, data)


async def start(
    event: Event,
    state: FSMContext,
    service: Service,
    values: dict[str, str],
    *,
    balance: Balance,
    settings: Settings,
    new_message: bool = False,
    found_by: str = "",
) -> None:
    """Begin an order for `service`; with `values` (Order again) go straight to the check.
    `found_by`: the search its card was opened from."""
    form = OrderForm.new(service, values, found_by=found_by)
    wizard = WizardScreens(
        event, state, form, balance, settings.panel_currency, settings.panel_topup_url
    )
    await wizard.review(new_message=new_message)
