"""Linking one's own SMMLaba account: /connect, /account, /disconnect.

The key is read from the person's message, which is deleted at once, verified with `test` and
`balance`, and only then sealed and stored. It never enters the conversation state.
"""

from __future__ import annotations

import logging
import math
import re

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, User
from aiogram.utils.i18n import gettext as _

from bot.accounts import Account, Accounts
from bot.config import Settings
from bot.formatting import balance as held
from bot.formatting import masked_email, quote
from bot.smmlaba import PanelError, PanelException
from handlers import keyboards, screens, texts
from handlers.callbacks import Link
from handlers.filters import TypedText
from handlers.screens import Event
from handlers.states import ConnectForm

logger = logging.getLogger(__name__)

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
API_KEY = re.compile(r"[A-Za-z0-9_\-]{8,128}")


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.register(ask_email, Command("connect"))
    router.callback_query.register(ask_email, Link.filter(F.action.in_({"connect", "email"})))
    router.message.register(email_typed, StateFilter(ConnectForm.email), TypedText())
    router.message.register(key_typed, StateFilter(ConnectForm.api_key), TypedText())
    router.message.register(show_account, Command("account"))
    router.callback_query.register(show_account, Link.filter(F.action == "account"))
    router.message.register(ask_unlink, Command("disconnect"))
    router.callback_query.register(ask_unlink, Link.filter(F.action == "disconnect"))
    router.callback_query.register(unlink, Link.filter(F.action == "unlink"))
    return router


# -- /connect ---------------------------------------------------------------------------


async def ask_email(event: Event, state: FSMContext, accounts: Accounts) -> None:
    await state.set_state(ConnectForm.email)
    await state.set_data({})
    lines = [_("🔗 <b>Link your SMMLaba account</b>")]
    linked = accounts.linked(event.from_user.id) if event.from_user else None
    if linked is not None:
        lines.append(
            _("You're linked to {email}; a new e-mail and key replace it.").format(
                email=quote(masked_email(linked.name))
            )
        )
    lines.append(_("Send the e-mail you log in to SMMLaba with."))
    await screens.show(event, "\n\n".join(lines), keyboards.cancel_only())


async def email_typed(message: Message, state: FSMContext, key_deleted: bool | None = None) -> None:
    if key_deleted is not None:  # a key, sent before the e-mail: `KeyGuard` took it away
        text = _(
            "That looks like an API key, so I took it out of the chat. First send the e-mail "
            "you log in to SMMLaba with."
        )
        await message.answer(text, reply_markup=keyboards.cancel_only())
        return
    email = (message.text or "").strip()
    if not EMAIL.fullmatch(email) or len(email) > 254:
        text = _(
            "That doesn't look like an e-mail address. Send the e-mail you log in to SMMLaba with."
        )
        await message.answer(text, reply_markup=keyboards.cancel_only())
        return
    await state.set_state(ConnectForm.api_key)
    await state.set_data({"email": email})
    text = _(
        "Now send your API key for {email}. You'll find it on the panel's API page.\n\n"
        "🔒 I'll delete your message with the key as soon as I've read it, and keep the key "
        "encrypted."
    ).format(email=quote(email))
    await message.answer(text, reply_markup=keyboards.connect_step())


async def key_typed(
    message: Message,
    event_from_user: User,
    state: FSMContext,
    accounts: Accounts,
    settings: Settings,
    key_deleted: bool = False,
) -> None:
    api_key = (message.text or "").strip()
    # `KeyGuard` has deleted the message already, or asked the person to.
    notice = _("🔒 I deleted your message with the key.") + "\n\n" if key_deleted else ""
    email = str((await state.get_data()).get("email", ""))
    if not email:  # the state outlived its data: start over rather than guess
        await state.clear()
        await message.answer(f"{notice}" + _("Let's start over: send /connect."))
        return
    if not API_KEY.fullmatch(api_key):
        text = _(
            "That doesn't look like an API key: it is one word of letters and digits, as the "
            "panel's API page shows it. Send it again."
        )
        await message.answer(f"{notice}{text}", reply_markup=keyboards.connect_step())
        return
    wait = accounts.key_try_wait(event_from_user.id)
    if wait:
        await state.clear()
        text = _("⏳ That's a lot of keys tried in one hour. Try again in {minutes} min.").format(
            minutes=max(1, math.ceil(wait / 60))
        )
        await message.answer(f"{notice}{text}", reply_markup=keyboards.main_menu(connect=True))
        return
    candidate = accounts.candidate(email, api_key)
    try:
        await candidate.test()
        balance = await candidate.balance()
    except PanelError as exc:
        accounts.forget(api_key)
        text = _("Nothing was saved. Send the key again, or start over with another e-mail.")
        await message.answer(
            f"{notice}{texts.panel_failure(exc)}\n{text}",
            reply_markup=keyboards.connect_step(),
        )
        return
    except PanelException as exc:
        accounts.forget(api_key)
        logger.info("could not verify a key for user %s: %s", event_from_user.id, exc)
        await state.clear()
        text = _("Nothing was saved; send /connect again in a few minutes.")
        await message.answer(
            f"{notice}{texts.panel_failure(exc)}\n{text}",
            reply_markup=keyboards.main_menu(connect=True),
        )
        return
    account = await accounts.link(event_from_user.id, email, api_key)
    await state.clear()
    logger.info("user %s linked their own panel account", event_from_user.id)
    text = _("✅ Linked {email}. Balance: {amount}.\nYour orders now go on this account.").format(
        email=quote(masked_email(account.name)),
        amount=quote(held(balance, settings.panel_currency)),
    )
    await message.answer(f"{notice}{text}", reply_markup=keyboards.main_menu())


# -- /account ---------------------------------------------------------------------------


async def show_account(event: Event, account: Account | None, settings: Settings) -> None:
    if account is None:
        text = _("No SMMLaba account is linked yet. /connect links yours.")
        await screens.show(event, text, keyboards.connect_menu())
        return
    email = quote(masked_email(account.name))
    if account.personal:
        lines = [_("🔗 You order on your own SMMLaba account: {email}").format(email=email)]
    else:
        lines = [_("🏢 You order on the bot's shared SMMLaba account: {email}").format(email=email)]
    try:
        balance = await account.panel.balance()
    except PanelException as exc:
        lines.append(texts.panel_failure(exc))
    else:
        lines.append(
            _("💰 Balance: {amount}").format(amount=quote(held(balance, settings.panel_currency)))
        )
    if not account.personal:
        lines.append(_("/connect links your own account instead."))
    await screens.show(event, "\n".join(lines), keyboards.account_menu(linked=account.personal))


# -- /disconnect ------------------------------------------------------------------------


async def ask_unlink(event: Event, accounts: Accounts) -> None:
    linked = accounts.linked(event.from_user.id) if event.from_user else None
    if linked is None:
        text = _("You have no linked SMMLaba account to unlink.")
        await screens.show(event, text, keyboards.main_menu())
        return
    text = _(
        "Unlink {email}? I'll delete its key. Orders you placed on it stay on the panel but "
        "will no longer be tracked here."
    ).format(email=quote(masked_email(linked.name)))
    await screens.show(event, text, keyboards.confirm_unlink())


async def unlink(callback: CallbackQuery, accounts: Accounts, state: FSMContext) -> None:
    if accounts.linked(callback.from_user.id) is None:
        await screens.show(callback, _("Nothing to unlink."), keyboards.main_menu())
        return
    await accounts.unlink(callback.from_user.id)
    await state.clear()  # a wizard under way was pricing on the old account
    logger.info("user %s unlinked their own panel account", callback.from_user.id)
    now = accounts.for_user(callback.from_user.id)
    if now is None:
        text = _("Done: the key is deleted. /connect links an account again.")
        await screens.show(callback, text, keyboards.main_menu(connect=True))
    else:
        text = _("Done: the key is deleted. You order on the bot's shared account again.")
        await screens.show(callback, text, keyboards.main_menu())
