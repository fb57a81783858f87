"""The order wizard's router: one handler per button, the typed value, and Confirm.

The wizard lives in the FSM (SQLite), so a restart continues at the same step with the same
values. A refused value gets the same prompt again, headed by the reason in one line, in place
of the prompt and the refused message; a refusal from the panel returns the person to the field
concerned. Confirm places the order at most once. The steps are `bot.order_form`; the screens
`handlers.wizard`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import F, Router
from aiogram.filters import Filter, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.balance_watch import after_order
from bot.order_form import Next, OrderForm
from bot.ordering import Draft, Outcome, Placement
from bot.params import InvalidValue, quantity, total
from handlers import keyboards, order_texts, screens
from handlers.callbacks import Confirm, OrderService, Step, StepAction
from handlers.filters import NotText, TypedText
from handlers.middlewares import require_panel
from handlers.states import OrderWizard
from handlers.wizard import (
    OrderDesk,
    WizardScreens,
    delete,
    load,
    resume,
    resume_live,
    start,
    with_desk,
)
from storage import orders


def build_router() -> Router:
    router = Router(name=__name__)
    require_panel(router)
    router.message.middleware(with_desk)
    router.callback_query.middleware(with_desk)
    entering, confirming = StateFilter(OrderWizard.entering), StateFilter(OrderWizard.confirming)

    def on(action: StepAction) -> CallbackQueryFilter:
        return Step.filter(F.action == action)

    router.callback_query.register(begin, OrderService.filter())
    router.callback_query.register(cancel, StateFilter(OrderWizard), on(StepAction.CANCEL))
    router.callback_query.register(back, entering, on(StepAction.BACK))
    router.callback_query.register(pick, entering, on(StepAction.PICK))
    router.callback_query.register(preset, entering, on(StepAction.PRESET))
    router.callback_query.register(skip, entering, on(StepAction.SKIP))
    router.callback_query.register(keep, entering, on(StepAction.KEEP))
    router.message.register(typed_value, entering, TypedText())
    router.message.register(not_text, entering, NotText())
    router.callback_query.register(change, confirming, on(StepAction.CHANGE))
    router.callback_query.register(fix, confirming, on(StepAction.FIX))
    router.callback_query.register(edit, confirming, on(StepAction.FIELD))
    router.callback_query.register(review, confirming, on(StepAction.REVIEW))
    router.callback_query.register(afford, confirming, on(StepAction.AFFORD))
    router.callback_query.register(recheck, confirming, on(StepAction.RECHECK))
    # Typed while the confirmation waits (not a command: /cancel and the rest still work).
    router.message.register(stray, confirming, AtConfirmation(), TypedText())
    router.message.register(stray, confirming, AtConfirmation(), NotText())
    router.callback_query.register(confirm, Confirm.filter())
    return router


async def begin(
    callback: CallbackQuery,
    callback_data: OrderService,
    state: FSMContext,
    desk: OrderDesk,
    callback_answer: CallbackAnswer,
) -> None:
    snapshot = await desk.catalog.snapshot()
    service = snapshot.service(callback_data.service) if snapshot else None
    if service is None:
        await screens.expired(callback, callback_answer)
        return
    await start(
        callback,
        state,
        service,
        {},
        balance=desk.balance,
        settings=desk.settings,
        found_by=callback_data.found_by,
    )


# -- the live message's buttons ----------------------------------------------------------


@dataclass(frozen=True)
class Tap:
    """A button of the wizard's live message, pressed: the order it belongs to and the tap."""

    wizard: WizardScreens
    button: Step
    callback: CallbackQuery
    answer: CallbackAnswer
    desk: OrderDesk

    @property
    def form(self) -> OrderForm:
        return self.wizard.form

    async def stale(self) -> None:
        await screens.expired(self.callback, self.answer)


def live_button(step: Callable[[Tap], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A handler for a button of the live message; any other message's button is stale."""

    async def handler(
        callback: CallbackQuery,
        callback_data: Step,
        state: FSMContext,
        desk: OrderDesk,
        callback_answer: CallbackAnswer,
    ) -> None:
        wizard = await resume_live(callback, state, desk, callback_answer)
        if wizard is not None:
            await step(Tap(wizard, callback_data, callback, callback_answer, desk))

    handler.__name__ = handler.__qualname__ = step.__name__
    return handler


@live_button
async def cancel(tap: Tap) -> None:
    await tap.wizard.state.clear()
    await screens.show(
        tap.callback,
        _("✖️ Order cancelled. Nothing was ordered.\n") + screens.main_menu_text(),
        keyboards.main_menu(),
    )


@live_button
async def back(tap: Tap) -> None:
    step = tap.form.back()
    if step is not Next.CARD:
        await tap.wizard.go(step)
        return
    await tap.wizard.state.clear()
    service = tap.form.service
    snapshot = await tap.desk.catalog.snapshot()
    found = snapshot.location(service) if snapshot is not None else None
    if found is None:
        await tap.stale()
        return
    await screens.service_card(
        tap.callback,
        service,
        found,
        tap.desk.settings.panel_currency,
        tap.desk.db,
        found_by=tap.form.data.found_by,
    )


@live_button
async def pick(tap: Tap) -> None:
    await advance_if(tap, tap.form.pick(tap.button.index))


@live_button
async def preset(tap: Tap) -> None:
    await advance_if(tap, tap.form.preset(tap.button.index))


@live_button
async def skip(tap: Tap) -> None:
    await advance_if(tap, tap.form.skip())


@live_button
async def keep(tap: Tap) -> None:
    await advance_if(tap, tap.form.keep())


async def advance_if(tap: Tap, fits: bool) -> None:
    """On after a prompt's button; a button that does not fit the prompt is a stale one."""
    if fits:
        await tap.wizard.go(tap.form.advance())
    else:
        await tap.stale()


@live_button
async def change(tap: Tap) -> None:
    await show_values(tap)


async def show_values(tap: Tap) -> None:
    """Which value to change: the confirmation's Confirm no longer counts."""
    tap.form.change()
    await tap.wizard.save()
    await screens.show(
        tap.callback, _("Which value do you want to change?"), keyboards.change(tap.form.fields)
    )


@live_button
async def fix(tap: Tap) -> None:
    """After a refusal: the field the panel named, or the list when it named none."""
    index = tap.form.refused_index()
    if index is None:
        await show_values(tap)
    else:
        await edit_value(tap, index)


@live_button
async def edit(tap: Tap) -> None:
    await edit_value(tap, tap.button.index)


async def edit_value(tap: Tap, index: int) -> None:
    if tap.form.edit(index):
        await tap.wizard.show_prompt()
    else:
        await tap.stale()


@live_button
async def review(tap: Tap) -> None:
    await tap.wizard.review()


@live_button
async def afford(tap: Tap) -> None:
    """The largest amount the balance just shown pays for; the confirmation again."""
    funds = tap.desk.balance.known()
    if funds is not None and tap.form.afford(funds):
        await tap.wizard.review(known_balance=True)
    else:
        await tap.wizard.review()  # the balance is asked again, and the buttons follow it


@live_button
async def recheck(tap: Tap) -> None:
    tap.desk.balance.forget()  # topped up: the balance shown is not it any more
    await tap.wizard.review()


# -- typed values ------------------------------------------------------------------------


async def typed_value(message: Message, state: FSMContext, desk: OrderDesk) -> None:
    wizard = await resume(message, state, desk, await load(state))
    if wizard is None:
        return
    spec, prompt = wizard.form.spec, wizard.form.data.live
    try:
        value = wizard.form.enter(message.text or "")
    except InvalidValue as problem:
        await wizard.ask_again(message, str(problem))
        return
    # The next screen lists what was given, so the answered prompt leaves the chat: one
    # message per order in the making. One Telegram won't delete becomes the record.
    await asyncio.gather(
        wizard.go(wizard.form.advance(), new_message=True),
        fold(message, prompt, order_texts.answered(spec, value)),
    )


async def fold(event: Message, prompt: int | None, record: str) -> None:
    if prompt is not None and not await delete(event, prompt):
        await screens.retire(event, prompt, record)


async def not_text(message: Message, state: FSMContext, desk: OrderDesk) -> None:
    """A photo, a sticker, a voice note: refused like a wrong value."""
    wizard = await resume(message, state, desk, await load(state))
    if wizard is not None:
        await wizard.ask_again(message, _("I can only read text here."))


class AtConfirmation(Filter):
    """The live message is the confirmation (not the list of values, nor a refusal, which
    share its state)."""

    async def __call__(self, message: Message, state: FSMContext) -> bool:
        data = await load(state)
        return data is not None and data.token is not None


async def stray(message: Message, state: FSMContext, desk: OrderDesk) -> None:
    """Anything typed at the confirmation: it only waits for a tap."""
    wizard = await resume(message, state, desk, await load(state))
    if wizard is not None:
        await wizard.remind(message)


# -- Confirm -----------------------------------------------------------------------------


async def confirm(
    callback: CallbackQuery,
    callback_data: Confirm,
    state: FSMContext,
    desk: OrderDesk,
    callback_answer: CallbackAnswer,
) -> None:
    person = callback.from_user
    data = await load(state)
    if (
        await state.get_state() != OrderWizard.confirming.state
        or data is None
        or data.token != callback_data.token
        or callback.message is None
        or callback.message.message_id != data.live
    ):
        earlier = await orders.get_by_token(desk.db, person.id, callback_data.token)
        if earlier is None:
            await screens.expired(callback, callback_answer)
        else:
            callback_answer.text = _("This order was already sent.")
            await tell_untold(desk, earlier)
        return
    wizard = await resume(callback, state, desk, data)
    if wizard is None:
        return
    form = wizard.form
    if form.terms_changed():
        # The catalog changed under the confirmation: place nothing it did not show.
        callback_answer.text = _("The service changed: nothing was ordered. Please check again.")
        await wizard.review(notice=order_texts.changed_notice(form.what_changed()))
        return
    service = form.service
    placement = await desk.placements.place(
        desk.panel,
        token=callback_data.token,
        user_id=person.id,
        chat_id=callback.message.chat.id,
        account=desk.account,
        draft=Draft(
            service_id=service.id,
            service_name=service.name,
            values=data.values,
            quantity=quantity(service, data.values),
            total=total(service, data.values),
        ),
        first_check_in=desk.settings.check_interval_seconds,
        card_message_id=data.live,
    )
    if placement.outcome is Outcome.ALREADY:
        # A tap at the same moment as the one that sent it: that one tells what became of it.
        callback_answer.text = _("This order was already sent.")
        await tell_untold(desk, placement.order)
        return
    if placement.outcome in (Outcome.PLACED, Outcome.UNCERTAIN):
        await after_order(desk.balance, desk.db, desk.account)
    if placement.outcome is Outcome.NOT_SENT:
        callback_answer.text = _("Not sent: nothing was ordered. Please confirm again.")
        await wizard.review(notice=order_texts.not_sent())
        return
    # The tap is answered while the outcome is told.
    callback_answer.disable()
    await asyncio.gather(screens.answer(callback), tell(wizard, placement, desk))


async def tell_untold(desk: OrderDesk, order: orders.Order) -> None:
    """A Confirm whose order exists already, again: a second tap, or the same tap delivered
    again after the replica that sent the order was killed before telling its answer. If
    nobody here is telling it, the answer goes out now, in the confirmation. (A second tap
    while another replica tells it waits for that replica: one person's updates are handled
    one at a time, on any replica.)"""
    message = await desk.placements.untold_answer(order, desk.notifier.take)
    if message is not None:
        await desk.notifier.deliver(message, locale=get_i18n().current_locale, in_place=True)


async def tell(wizard: WizardScreens, placement: Placement, desk: OrderDesk) -> None:
    """What became of the order: placed or unknown, in the confirmation, which becomes the
    order's card; refused, back to the field concerned. Placed and unknown go through the
    outbox (`placement.message`): delivered now, and by the notifier if Telegram refuses it
    now."""
    confirmation = wizard.form.data.live
    if placement.outcome is Outcome.REJECTED:
        await screens.retire(wizard.event, confirmation)
        wizard.form.refused_by_panel(f"{placement.refusal} {placement.detail}")
        message = await screens.send(
            wizard.event, order_texts.refused(placement.refusal or ""), keyboards.refusal()
        )
        wizard.form.data.live = message.message_id
        await wizard.save()
        if placement.message is not None:  # said here, with the buttons to fix the order
            await desk.notifier.told(placement.message)
        return
    await wizard.state.clear()
    locale = get_i18n().current_locale
    if placement.message is not None and await desk.notifier.deliver(
        placement.message, locale=locale, in_place=True
    ):
        return
    # Told elsewhere (a message of its own, now or later), or below: Confirm is spent.
    await screens.retire(wizard.event, confirmation)
    if not placement.recorded:
        await screens.send(
            wizard.event,
            order_texts.placed_not_saved(placement.order.panel_order_id or ""),
            keyboards.to_menu(),
        )
