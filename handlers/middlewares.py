"""Middlewares that decide what reaches the handlers, in the order they run: throttling,
access, the person's row, their panel account; and, on the routers that need it, a panel.
Around them all, `SaveConversations` writes what each update changed in its conversation (with
Redis, `HandledOnce` writes it together with the mark that the update was handled, so an update
Telegram delivers again is not handled twice), `CountUpdates` counts and times each update, and
`InFlight` knows which updates are still being handled, so a stop can wait for them."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiogram import BaseMiddleware, Dispatcher, Router
from aiogram.dispatcher.event.bases import UNHANDLED, CancelHandler, SkipHandler
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from aiogram.types.update import UpdateTypeLookupError
from aiogram.utils.i18n import gettext as _

from bot.accounts import Accounts
from bot.balances import BalancesAhead
from bot.config import Settings
from bot.logs import update_context
from bot.metrics import Metrics
from bot.ratelimit import TokenBucket
from handlers import keyboards, screens
from handlers.states import ConnectForm
from storage import users
from storage.fsm import DatabaseStorage, RedisConversations

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

logger = logging.getLogger(__name__)


async def refuse(event: TelegramObject, text: str) -> None:
    """Say no: a reply to a message, an alert on a button."""
    if isinstance(event, Message):
        await event.answer(text)
    elif isinstance(event, CallbackQuery):
        await event.answer(text[:200], show_alert=True)


class SaveConversations(BaseMiddleware):
    """After each update, handled or not, write the change it made to its conversation (the
    storage keeps it in memory until then): one write, after the answer went out, and before
    aiogram lets the same chat's next update in. An update that raised (or was cancelled)
    leaves the conversation as it found it: tried again, it starts from the same step."""

    def __init__(self, storage: DatabaseStorage) -> None:
        self._storage = storage

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        conversation: FSMContext | None = data.get("state")
        if conversation is None:
            return await handler(event, data)
        try:
            result = await handler(event, data)
        except BaseException:
            self._storage.forget(conversation.key)
            raise
        await self._storage.save(conversation.key)
        return result


class LogContext(BaseMiddleware):
    """Names the update (and its person, where it has one) in every record logged while it
    is handled (`bot.logs`). Registered outermost (`register_outermost`), so the error
    handler's records name it too."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        # aiogram's own user-context middleware runs inside this one: ask it the same way.
        user_id = UserContextMiddleware.resolve_event_context(event).user_id
        with update_context(event.update_id, user_id):
            return await handler(event, data)


class HandledOnce(BaseMiddleware):
    """Telegram delivers a webhook update again when the bot's answer to it got lost: a
    replica killed after handling it, before answering. The update's change to its
    conversation and the mark that it was handled go to the replicas' Redis together, at
    the end (`RedisConversations.save`), so an update that comes back is either skipped or
    handled from the step it was sent at. Registered inside aiogram's event-isolation
    lock, so a delivery that comes back waits for the first one to finish. A handler that
    raised (or was cancelled) leaves the conversation as it found it, and no mark: its
    update may be tried again, from the same step."""

    def __init__(self, conversations: RedisConversations) -> None:
        self._conversations = conversations

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        bot_id = data["bot"].id
        if await self._conversations.handled(bot_id, event.update_id):
            logger.info("update %s came again after it was handled: skipped", event.update_id)
            return UNHANDLED
        conversation: FSMContext | None = data.get("state")
        key = conversation.key if conversation is not None else None
        try:
            result = await handler(event, data)
        except BaseException:
            self._conversations.forget(key)  # as if killed: tried again from the same step
            raise
        await self._conversations.save(key, handled=(bot_id, event.update_id))
        return result


class CountUpdates(BaseMiddleware):
    """Counts each update by type and outcome (handled; ignored: no handler took it; error: a
    handler raised) and times it. Registered on `dispatcher.update` after aiogram's own, so
    an error passes through it before the error handler answers it, and before
    `SaveConversations`, so the time includes saving the conversation."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        meter = self._metrics.update_meter(update_type(event))
        started = time.perf_counter()
        try:
            result = await handler(event, data)
        except (SkipHandler, CancelHandler):
            meter.ignored.inc()
            raise
        except Exception:
            meter.failed.inc()
            raise
        finally:
            meter.seconds.observe(time.perf_counter() - started)
        (meter.ignored if result is UNHANDLED else meter.handled).inc()
        return result


def update_type(event: TelegramObject) -> str:
    """The update's type as aiogram names it (message, callback_query, ...); aiogram caches
    the answer for its own dispatch."""
    if not isinstance(event, Update):
        return "unknown"
    try:
        return event.event_type
    except UpdateTypeLookupError:  # a type newer than this aiogram: it skips the update
        return "unknown"


def register_outermost(dispatcher: Dispatcher, middleware: BaseMiddleware) -> None:
    """Make `middleware` the first on `dispatcher.update`, around aiogram's own (errors, the
    person's context, FSM and its lock), which the dispatcher registers when it is made."""
    manager = dispatcher.update.outer_middleware
    existing = list(manager[:])
    for other in existing:
        manager.unregister(other)
    manager.register(middleware)
    for other in existing:
        manager.register(other)


class InFlight(BaseMiddleware):
    """Counts the updates being handled. A stop waits for them (`drained`) before closing
    the database and the panel's connections under them: an order being sent ends placed or
    uncertain, and its person hears which. Registered outermost (`register_outermost`), an
    update counts from its first step, while it waits for its person's lock and while the
    error handler answers for it."""

    def __init__(self) -> None:
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        with self.holding():
            return await handler(event, data)

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Work a stop waits for, as for an update (the Mini App's orders)."""
        self._running += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._running -= 1
            if not self._running:
                self._idle.set()

    async def drained(self, within: float) -> bool:
        """Wait up to `within` seconds for the updates under way; False if some still run."""
        if self._running:
            logger.info("waiting up to %.0fs for %d updates in flight", within, self._running)
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            logger.warning("stopping with %d updates still in flight", self._running)
            return False
        return True


# A message that may be an API key: one long word of letters and digits, with a digit in it
# (a name or a word typed at the e-mail step is not deleted for looking like one).
_KEY_SHAPE = re.compile(r"[A-Za-z0-9_\-]{16,128}")


def looks_like_key(text: str) -> bool:
    text = text.strip()
    return bool(_KEY_SHAPE.fullmatch(text)) and any(c.isdigit() for c in text)


class KeyGuard(BaseMiddleware):
    """While /connect waits for the e-mail or the key, a message that may hold the key is
    deleted before anything else happens to it (the throttle may drop it; the e-mail step does
    not expect it), so a key never stays in the chat. When Telegram won't delete it, the person
    is asked to. Handlers find the outcome in `key_deleted`."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Message) and event.text:
            state: FSMContext | None = data.get("state")
            step = await state.get_state() if state is not None else None
            if step == ConnectForm.api_key.state or (
                step == ConnectForm.email.state and looks_like_key(event.text)
            ):
                data["key_deleted"] = await delete_key_message(event)
        return await handler(event, data)


async def delete_key_message(message: Message) -> bool:
    try:
        await message.delete()
    except TelegramAPIError as exc:
        logger.warning("could not delete a message holding an API key: %s", exc)
        await message.answer(
            _("⚠️ I couldn't delete your message with the key — please delete it yourself.")
        )
        return False
    return True


class Throttle(BaseMiddleware):
    """Each person may send `burst` updates at once and `rate` a second after that. The
    excess is dropped: one short "slow down" per `window` seconds at most, the rest get
    nothing, so a flood costs neither the panel nor Telegram anything."""

    def __init__(
        self,
        rate: float = 2.0,
        burst: float = 10.0,
        window: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self._rate = rate
        self._metrics = metrics
        self._burst = burst
        self._window = window
        self._clock = clock
        self._buckets: dict[int, TokenBucket] = {}
        self._warned_at: dict[int, float] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        person: User | None = data.get("event_from_user")
        if person is None:
            return await handler(event, data)
        bucket = self._buckets.get(person.id)
        if bucket is None:
            self._forget_idle()
            bucket = self._buckets[person.id] = TokenBucket(
                self._rate, self._burst, clock=self._clock
            )
        if bucket.try_acquire():
            return await handler(event, data)
        if self._metrics is not None:
            self._metrics.dropped("throttled")
        now = self._clock()
        if now - self._warned_at.get(person.id, -self._window) >= self._window:
            self._warned_at[person.id] = now
            await refuse(event, _("⏳ Slow down a little — I'll answer again in a moment."))
        return None

    def _forget_idle(self) -> None:
        """A full bucket is the same as none: drop those now and then, so memory stays
        proportional to the people active in the last few seconds."""
        if len(self._buckets) < 1024:
            return
        for user_id, bucket in list(self._buckets.items()):
            if bucket.is_full():
                del self._buckets[user_id]
                self._warned_at.pop(user_id, None)


class Access(BaseMiddleware):
    """ACCESS=allowlist: only ALLOWED_USERS and ADMIN_IDS get past. ACCESS=open: anyone, to
    link their own account. Everyone else gets one sentence with their id, to send to the
    owner; nothing else, no panel call."""

    def __init__(self, settings: Settings, *, metrics: Metrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        person: User | None = data.get("event_from_user")
        if person is None:
            return None
        if may_use(self._settings, person.id):
            return await handler(event, data)
        if self._metrics is not None:
            self._metrics.dropped("no_access")
        await refuse(event, private_text(person.id))
        return None


class KnownUsers(BaseMiddleware):
    """Every person gets a `users` row on their first update after start-up (orders and
    notifications need it); later updates cost nothing, except /start, which refreshes it:
    it is how someone who had blocked the bot comes back (and is marked active again)."""

    def __init__(self) -> None:
        self._known: set[int] = set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        person: User | None = data.get("event_from_user")
        starting = isinstance(event, Message) and (event.text or "").startswith("/start")
        if person is not None and (starting or person.id not in self._known):
            await users.touch(
                data["db"],
                person.id,
                chat_id=person.id,
                first_name=person.first_name,
                telegram_language=person.language_code,
            )
            self._known.add(person.id)
        return await handler(event, data)


class PanelAccount(BaseMiddleware):
    """Puts the person's panel account in the handler data: `account` (theirs, or the
    operator's), its `panel` client and `catalog`, and `balance` (theirs on it, as the order
    wizard asks for it); all None when they have none yet. `accounts` is every account."""

    def __init__(self, accounts: Accounts, balances: BalancesAhead) -> None:
        self._accounts = accounts
        self._balances = balances

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        person: User | None = data.get("event_from_user")
        account = None if person is None else self._accounts.for_user(person.id)
        data["account"] = account
        if person is None or account is None:
            data["panel"] = data["catalog"] = data["balance"] = None
        else:
            data["panel"] = account.panel
            data["catalog"] = account.catalog
            data["balance"] = self._balances.of(person.id, account.panel)
        return await handler(event, data)


def may_use(settings: Settings, user_id: int) -> bool:
    """Whether this person gets in at all (`ACCESS`: the team, or anyone)."""
    return settings.access == "open" or user_id in settings.team


def private_text(user_id: int) -> str:
    return _(
        "This bot is private. Your Telegram id is {id} — send it to the bot's owner if you "
        "should have access."
    ).format(id=user_id)


def no_account_text() -> str:
    return _("First link your SMMLaba account: send /connect. It takes a minute.")


class RequirePanel(BaseMiddleware):
    """On routers that browse or order: without a panel account, say how to get one."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if data.get("panel") is not None:
            return await handler(event, data)
        if isinstance(event, Message | CallbackQuery):
            await ask_to_connect(event)
        return None


async def ask_to_connect(event: Message | CallbackQuery) -> None:
    """The screen for someone who needs an account first (inside the handler chain, where
    a button press is answered by CallbackAnswerMiddleware)."""
    await screens.show(event, no_account_text(), keyboards.connect_menu())


def require_panel(router: Router) -> None:
    """Every handler of `router` needs a panel account."""
    gate = RequirePanel()
    router.message.middleware(gate)
    router.callback_query.middleware(gate)
