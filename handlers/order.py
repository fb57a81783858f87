"""The order wizard's router: one handler per button, the typed value, and Confirm.

The wizard lives in the FSM (SQLite), so a restart continues at the same step with the same
values. A refused value gets the reason and the same prompt again; a refusal from the panel
returns the person to the field concerned. Confirm places the order at most once. The steps
are `bot.order_form`; the screens `handlers.wizard`.
"""

from __future__ import annotations

import asyncio

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.order_form import Next
from bot.ordering import Draft, Outcome, Placement
from bot.params import InvalidValue, quantity, total
from handlers import keyboards, order_texts, screens, texts
from handlers.callbacks import Confirm, OrderService, Step, StepAction
from handlers.filters import NotText, TypedText
from handlers.middlewares import require_panel
from handlers.screens import Event
from handlers.states import OrderWizard
from handlers.wizard import OrderDesk, WizardScreens, load, resume, resume_live, start, with_desk
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
    router.callback_query.register(skip, entering, on(StepAction.SKIP))
    router.callback_query.register(keep, entering, on(StepAction.KEEP))
    router.message.register(typed_value, entering, TypedText())
    router.message.register(not_text, entering, NotText())
    router.callback_query.register(change, confirming, on(StepAction.CHANGE))
    router.callback_query.register(fix, confirming, on(StepAction.FIX))
    router.callback_query.register(edit, confirming, on(StepAction.FIELD))
    router.callback_query.register(review, confirming, on(StepAction.REVIEW))
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
        callback, state, service, {}, balance=desk.balance, currency=desk.settings.panel_currency
    )


async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
    await cancelled(callback, state)


async def cancelled(event: Event, state: FSMContext) -> None:
    await state.clear()
    await screens.show(
        event,
        _("✖️ Order cancelled. Nothing was ordered.\n") + screens.main_menu_text(),
        keyboards.main_menu(),
    )


# -- a prompt's buttons and answers ------------------------------------------------------


async def back(
    callback: CallbackQuery, state: FSMContext, desk: OrderDesk, callback_answer: CallbackAnswer
) -> None:
    wizard = await resume_live(callback, state, desk, callback_answer)
    if wizard is None:
        return
    step = wizard.form.back()
    if step is not Next.CARD:
        await wizard.go(step)
        return
    await state.clear()
    service = wizard.form.service
    snapshot = await desk.catalog.snapshot()
    found = snapshot.location(service) if snapshot is not None else None
    if found is None:
        await screens.expired(callback, callback_answer)
        return
    await screens.show(
        callback,
        texts.service_card(service, desk.settings.panel_currency),
        keyboards.service_card(service, *found),
    )


async def pick(
    callback: CallbackQuery,
    callback_data: Step,
    state: FSMContext,
    desk: OrderDesk,
    callback_answer: CallbackAnswer,
) -> None:
    wizard = await resume_live(callback, state, desk, callback_answer)
    if wizard is not None:
        await answered(wizard, wizard.form.pick(callback_data.index), callback, callback_answer)


async def skip(
    callback: CallbackQuery, state: FSMContext, desk: OrderDesk, callback_answer: CallbackAnswer
) -> None:
    wizard = await resume_live(callback, state, desk, callback_answer)
    if wizard is not None:
        await answered(wizard, wizard.form.skip(), callback, callback_answer)


async def keep(
    callback: CallbackQuery, state: FSMContext, desk: OrderDesk, callback_answer: CallbackAnswer
) -> None:
    wizard = await resume_live(callback, state, desk, callback_answer)
    if wizard is not None:
        await answered(wizard, wizard.form.keep(), callback, callback_answer)


async def answered(
    wizard: WizardScreens, fits: bool, callback: CallbackQuery, callback_answer: CallbackAnswer
) -> None:
    """On after a prompt's button; a button that does not fit the prompt is a stale one."""
    if fits:
        await wizard.go(wizard.form.advance())
    else:
        await screens.expired(callback, callback_answer)


async def typed_value(message: Message, state: FSMContext, desk: OrderDesk) -> None:
    wizard = await resume(message, state, desk, await load(state))
    if wizard is None:
        return
    spec, prompt = wizard.form.spec, wizard.form.data.live
    try:
        value = wizard.form.enter(message.text or "")
    except InvalidValue as problem:
        await asyncio.gather(
            screens.retire(message, prompt),
            wizard.show_prompt(warning=str(problem), new_message=True),
        )
        return
    # The answered prompt stays in the chat as a record of what was given, edited while the
    # next screen is made (the confirmation waits on the panel for the balance).
    await asyncio.gather(
        screens.retire(message, prompt, order_texts.answered(spec, value)),
        wizard.go(wizard.form.advance(), new_message=True),
    )


async def not_text(message: Message) -> None:
    await message.answer(_("Please send the value as a text message, or press a button above."))


# -- the confirmation's buttons ----------------------------------------------------------


async def change(
    callback: CallbackQuery, state: FSMContext, desk: OrderDesk, callback_answer: CallbackAnswer
) -> None:
    wizard = await resume_live(callback, state, desk, callback_answer)
    if wizard is not None:
        await show_values(callback, wizard)


async def show_values(callback: CallbackQuery, wizard: WizardScreens) -> None:
    """Which value to change: the confirmation's Confirm no longer counts."""
    wizard.form.change()
    await wizard.save()
    await screens.show(
        callback, _("Which value do you want to change?"), keyboards.change(wizard.form.fields)
    )


async def fix(
    callback: CallbackQuery, state: FSMContext, desk: OrderDesk, callback_answer: CallbackAnswer
) -> None:
    """After a refusal: the field the panel named, or the list when it named none."""
    wizard = await resume_live(callback, state, desk, callback_answer)
    if wizard is None:
        return
    index = wizard.form.refused_index()
    if index is None:
        await show_values(callback, wizard)
    else:
        await edit_value(wizard, index, callback, callback_answer)


async def edit(
    callback: CallbackQuery,
    callback_data: Step,
    state: FSMContext,
    desk: OrderDesk,
    callback_answer: CallbackAnswer,
) -> None:
    wizard = await resume_live(callback, state, desk, callback_answer)
    if wizard is not None:
        await edit_value(wizard, callback_data.index, callback, callback_answer)


async def edit_value(
    wizard: WizardScreens, index: int, callback: CallbackQuery, callback_answer: CallbackAnswer
) -> None:
    if wizard.form.edit(index):
        await wizard.show_prompt()
    else:
        await screens.expired(callback, callback_answer)


async def review(
    callback: CallbackQuery, state: FSMContext, desk: OrderDesk, callback_answer: CallbackAnswer
) -> None:
    wizard = await resume_live(callback, state, desk, callback_answer)
    if wizard is not None:
        await wizard.review()


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
    )
    if placement.outcome is Outcome.ALREADY:
        callback_answer.text = _("This order was already sent.")
        await screens.retire(callback, data.live)
        return
    if placement.outcome is Outcome.NOT_SENT:
        callback_answer.text = _("Not sent: nothing was ordered. Please confirm again.")
        await wizard.review(notice=order_texts.not_sent())
        return
    # The tap is answered, and the confirmation loses its buttons, while the outcome is told.
    callback_answer.disable()
    await asyncio.gather(
        screens.answer(callback),
        screens.retire(callback, data.live),
        tell(wizard, placement, desk),
    )


async def tell(wizard: WizardScreens, placement: Placement, desk: OrderDesk) -> None:
    """What became of the order: placed, refused (back to the field concerned), or unknown.
    Placed and unknown go through the outbox (`placement.message`): delivered now, and by the
    notifier if Telegram refuses it now."""
    if placement.outcome is Outcome.REJECTED:
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
    if placement.message is not None:
        await desk.notifier.deliver(placement.message, locale=get_i18n().current_locale)
    elif not placement.recorded:
        await screens.send(
            wizard.event,
            order_texts.placed_not_saved(placement.order.panel_order_id or ""),
            keyboards.to_menu(),
        )
