"""Building the bot and its dispatcher, and running them with their services.

Nothing here lives at module level: every object is built by a function and reaches handlers
through the dispatcher's workflow data (aiogram injects it by parameter name).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import BotCommand, MenuButtonWebApp, WebAppInfo
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from aiogram.utils.i18n import I18n
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from redis.asyncio import Redis

from bot.accounts import Accounts
from bot.balance_watch import BalanceWatch
from bot.balances import BalancesAhead
from bot.config import Settings
from bot.health import PanelHealth
from bot.i18n import UserLocale, build_i18n
from bot.metrics import Metrics
from bot.notifier import Notifier, NotifierConfig
from bot.ordering import Placements
from bot.panel_watch import PanelWatch
from bot.pruning import Pruning, retention_policy
from bot.ratelimit import local_limiters, shared_limiters
from bot.redaction import Redactor, redacting_logs
from bot.secretbox import load_secret_box, reseal_linked
from bot.serving import serve_app
from bot.smmlaba.pool import panel_http
from bot.status_server import StatusChecks, add_status_routes
from bot.statuses import DEFAULT_STATUS_STATES
from bot.telegram_session import BotSession
from bot.tracker import Tracker, TrackerConfig
from bot.tuning import tune_process
from handlers import build_routers, notifications
from handlers.errors import unexpected_error
from handlers.middlewares import (
    Access,
    CountUpdates,
    HandledOnce,
    InFlight,
    KeyGuard,
    KnownUsers,
    LogContext,
    PanelAccount,
    SaveConversations,
    Throttle,
    register_outermost,
)
from storage import orders, outbox, users
from storage.db import Database
from storage.fsm import DatabaseStorage, RedisConversations
from storage.lock import only_instance, replicas_lock
from webapp.api import MiniApp

logger = logging.getLogger(__name__)


def N_(text: str) -> str:
    """Marks a message for the catalogs; it is translated where it is shown."""
    return text


COMMANDS = [
    ("start", N_("Main menu")),
    ("search", N_("Find a service")),
    ("orders", N_("Your orders")),
    ("track", N_("Track an order placed on the website")),
    ("spent", N_("What your orders cost, month by month")),
    ("balance", N_("Your panel balance")),
    ("test", N_("Check the connection to the panel")),
    ("account", N_("Which panel account I use")),
    ("connect", N_("Link your own SMMLaba account")),
    ("settings", N_("Notifications")),
    ("language", N_("Language")),
    ("help", N_("What I can do")),
    ("cancel", N_("Stop what you're doing")),
]


DESCRIPTION = N_(
    "I'm the SMMLaba panel in Telegram: browse its services, order in a few taps, and I'll "
    "message you when an order moves or finishes. One order per confirmation, never lost. "
    "Press Start to begin."
)
SHORT_DESCRIPTION = N_("SMMLaba in Telegram: order in a few taps, hear when it's done.")


def build_bot(settings: Settings, session: BotSession | None = None) -> Bot:
    if session is None:
        session = BotSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(
        token=settings.require_bot_token().get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


@dataclass
class Services:
    """What the handlers get, by name, from the dispatcher's workflow data, and the
    background work that runs beside them."""

    settings: Settings
    db: Database
    accounts: Accounts
    i18n: I18n
    tracker: Tracker
    notifier: Notifier
    watch: PanelWatch
    balance_watch: BalanceWatch
    placements: Placements
    metrics: Metrics
    status: StatusChecks
    pruning: Pruning
    conversations: BaseStorage
    isolation: BaseEventIsolation
    balances: BalancesAhead
    in_flight: InFlight
    mini_app: MiniApp

    async def start_background(self) -> None:
        # Whatever the last run left half done: messages it meant to send itself, orders it
        # sent without an answer (older than the panel timeout: nobody can answer those now).
        # Work another replica has taken may be under way: it is left for its lease to end.
        if self.settings.alone:
            await outbox.release_claims(self.db, time.time())
            await orders.release_leases(self.db)
        await self.placements.expire_stale(self.placements.panel_timeout)
        self.placements.start()
        self.tracker.start()
        self.notifier.start()
        self.watch.start()
        self.balance_watch.start()
        self.pruning.start()

    async def stop_background(self) -> None:
        # Updates under way (an order being sent) end before anything they use is closed.
        await self.in_flight.drained(self.placements.answer_within)
        await self.pruning.stop()
        await self.watch.stop()
        await self.balance_watch.stop()
        await self.tracker.stop()
        await self.notifier.stop()
        await self.placements.stop()


def build_dispatcher(services: Services) -> Dispatcher:
    dispatcher = Dispatcher(
        storage=services.conversations,
        events_isolation=services.isolation,
        settings=services.settings,
        db=services.db,
        accounts=services.accounts,
        tracker=services.tracker,
        notifier=services.notifier,
        placements=services.placements,
        i18n=services.i18n,
    )
    register_outermost(dispatcher, services.in_flight)
    # Outside aiogram's errors middleware, so the error handler's records name the update.
    register_outermost(dispatcher, LogContext())
    # Inside aiogram's FSM middleware, so within its event-isolation lock.
    dispatcher.update.outer_middleware(CountUpdates(services.metrics))
    if isinstance(services.conversations, DatabaseStorage):
        dispatcher.update.outer_middleware(SaveConversations(services.conversations))
    if isinstance(services.conversations, RedisConversations):
        dispatcher.update.outer_middleware(HandledOnce(services.conversations))
    user_locale = UserLocale(services.i18n)
    user_locale.setup(dispatcher)
    dispatcher["user_locale"] = user_locale
    throttle = Throttle(
        services.settings.throttle_per_second,
        services.settings.throttle_burst,
        metrics=services.metrics,
    )
    access = Access(services.settings, metrics=services.metrics)
    known_users = KnownUsers()
    panel_account = PanelAccount(services.accounts, services.balances)
    dispatcher.message.outer_middleware(KeyGuard())  # before anything may drop the message
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(throttle)
        observer.outer_middleware(access)
        observer.outer_middleware(known_users)
        observer.outer_middleware(panel_account)
    dispatcher.callback_query.middleware(CallbackAnswerMiddleware())
    dispatcher.include_routers(*build_routers())
    dispatcher.errors.register(unexpected_error)
    dispatcher.startup.register(set_profile)
    if services.settings.webapp_url is not None:
        dispatcher.startup.register(set_catalog_button)
    dispatcher.startup.register(services.start_background)
    dispatcher.startup.register(services.status.started)  # alive from now on
    dispatcher.shutdown.register(services.stop_background)
    return dispatcher


async def set_profile(bot: Bot, i18n: I18n) -> None:
    """The command menu and what an empty chat shows before /start (the description, and
    the short one on the bot's profile), in English and in each language there is a
    catalog for."""
    await bot.set_my_commands(
        [BotCommand(command=name, description=text) for name, text in COMMANDS]
    )
    await bot.set_my_description(DESCRIPTION)
    await bot.set_my_short_description(SHORT_DESCRIPTION)
    for locale in i18n.available_locales:
        await bot.set_my_commands(
            [
                BotCommand(command=name, description=i18n.gettext(text, locale=locale))
                for name, text in COMMANDS
            ],
            language_code=locale,
        )
        await bot.set_my_description(i18n.gettext(DESCRIPTION, locale=locale), language_code=locale)
        await bot.set_my_short_description(
            i18n.gettext(SHORT_DESCRIPTION, locale=locale), language_code=locale
        )


async def set_catalog_button(bot: Bot, settings: Settings) -> None:
    """The Mini App as the chat's menu button, beside the input field."""
    await bot.set_chat_menu_button(
        menu_button=MenuButtonWebApp(
            text="🛍 Catalog", web_app=WebAppInfo(url=str(settings.webapp_url))
        )
    )


def tracker_settings(settings: Settings) -> TrackerConfig:
    states = {**DEFAULT_STATUS_STATES, **settings.smmlaba_status_map}
    return TrackerConfig(
        base_interval=settings.check_interval_seconds,
        concurrency=settings.track_concurrency,
        rate_per_second=settings.track_rate_per_second,
        status_states=states,
    )


def notifier_settings(settings: Settings) -> NotifierConfig:
    return NotifierConfig(
        per_second=settings.notify_per_second,
        per_chat_per_second=settings.notify_per_chat_per_second,
    )


@asynccontextmanager
async def running(
    settings: Settings,
    *,
    tracker_config: TrackerConfig | None = None,
    notifier_config: NotifierConfig | None = None,
) -> AsyncIterator[tuple[Bot, Dispatcher, Services]]:
    """Open the database and the panel, warm the catalog, build bot and dispatcher; close
    everything on the way out. Tracking and notifications run while the dispatcher does."""
    async with AsyncExitStack() as stack:
        if settings.postgres_url is None:
            stack.enter_context(only_instance(settings.sqlite_path))
        redactor = Redactor()
        for secret in (settings.require_bot_token(), settings.database_url, settings.redis_url):
            if secret is not None:
                redactor.add(secret.get_secret_value())
        stack.enter_context(redacting_logs(redactor))
        db = await Database.open(settings.postgres_url or settings.sqlite_path)
        stack.push_async_callback(db.close)
        conversations, isolation = await stack.enter_async_context(conversations_for(settings, db))
        linked = await users.linked_accounts(db)
        box = load_secret_box(settings, stored_secrets=len(linked))
        await reseal_linked(db, box, linked)  # the old bytes still open with this box
        limiters = local_limiters()
        if not settings.alone and settings.redis_url is not None:
            redis = Redis.from_url(settings.redis_url.get_secret_value())
            stack.push_async_callback(redis.aclose)
            # Telegram's limits and the panel's are the bot's, not each replica's.
            bot_id = settings.require_bot_token().get_secret_value().split(":", 1)[0]
            limiters = shared_limiters(redis, f"smmbot:{bot_id}:rate")
        http = await stack.enter_async_context(panel_http())
        metrics = Metrics()
        accounts = Accounts(settings, db, http, box, redactor, PanelHealth(), metrics=metrics)
        stack.push_async_callback(accounts.close)
        accounts.load(linked)
        if accounts.operator is not None:
            await accounts.operator.catalog.snapshot()
        session = BotSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        bot = build_bot(settings, session)
        stack.push_async_callback(session.close)
        i18n = build_i18n()
        notifier = Notifier(
            bot,
            db,
            i18n,
            notifier_config or notifier_settings(settings),
            partial(notifications.render, currency=settings.panel_currency),
            metrics=metrics,
            limiters=None if settings.alone else limiters,
        )
        tracker = Tracker(
            db,
            lambda order: accounts.tracking_panel(order.user_id, order.account),
            tracker_config or tracker_settings(settings),
            health=accounts.health,
            metrics=metrics,
            limiters=limiters,
        )
        watch = PanelWatch(accounts, db, settings)
        balance_watch = BalanceWatch(
            accounts, db, settings.admin_ids, read_every=settings.low_balance_read_seconds
        )
        placements = Placements(db, panel_timeout=settings.smmlaba_timeout_seconds)
        pruning = Pruning(db, retention_policy(settings))
        metrics.read_at_scrape(db, accounts, tracker)
        # One person's balance read ahead serves the chat and the Mini App alike.
        balances, in_flight = BalancesAhead(), InFlight()
        services = Services(
            settings=settings,
            db=db,
            accounts=accounts,
            i18n=i18n,
            tracker=tracker,
            notifier=notifier,
            watch=watch,
            balance_watch=balance_watch,
            placements=placements,
            metrics=metrics,
            status=StatusChecks(
                db,
                bot,
                session.contact,
                [tracker, notifier, watch, balance_watch, placements, pruning],
                polling=settings.webhook_url is None,
                metrics=metrics.exposition,
            ),
            pruning=pruning,
            conversations=conversations,
            isolation=isolation,
            balances=balances,
            in_flight=in_flight,
            mini_app=MiniApp(
                settings, db, accounts, placements, notifier, i18n, balances, in_flight
            ),
        )
        yield bot, build_dispatcher(services), services


# How long a replica killed while handling a person's update keeps that person's lock: more
# than an update takes (it may wait twice for the panel, SMMLABA_TIMEOUT_SECONDS each, 20 by
# default), and at the default less than the 55 s after which aiogram answers a webhook
# delivery before it is done, so an update delivered again behind that lock is still
# answered once handled. A longer panel timeout makes the lock longer.
PERSON_LOCK_SECONDS = 45


@asynccontextmanager
async def conversations_for(
    settings: Settings, db: Database
) -> AsyncIterator[tuple[BaseStorage, BaseEventIsolation]]:
    """Where conversations live, and what keeps one person's updates one at a time: with
    REDIS_URL, aiogram's RedisStorage (as `RedisConversations`) and RedisEventIsolation,
    shared by every replica; else the database and a lock in this process, which is then the
    only replica (on PostgreSQL a second one is refused at start-up: `replicas_lock`).
    Conversations untouched for KEEP_CONVERSATIONS_DAYS expire in Redis as the pruning
    deletes them from the database."""
    redis_url = settings.redis_url
    async with replicas_lock(db, alone=redis_url is None):
        if redis_url is None:
            yield DatabaseStorage(db), SimpleEventIsolation()
            return
        keep = int(settings.keep_conversations_days * 86_400)
        storage = RedisConversations(
            Redis.from_url(redis_url.get_secret_value()),
            # Several bots may share one Redis: keys name the bot too.
            key_builder=DefaultKeyBuilder(with_bot_id=True),
            state_ttl=keep,
            data_ttl=keep,
        )
        try:
            # An update may wait for the panel twice (the balance, then `add`).
            held = max(PERSON_LOCK_SECONDS, 2 * settings.smmlaba_timeout_seconds + 5)
            yield storage, storage.create_isolation(lock_kwargs={"timeout": held})
        finally:
            await storage.disconnect()


def build_webhook_app(
    bot: Bot,
    dispatcher: Dispatcher,
    settings: Settings,
    checks: StatusChecks,
    mini_app: MiniApp | None = None,
) -> web.Application:
    """The aiohttp app Telegram posts updates to (a request without the secret gets 401),
    with the status routes and the Mini App, if any, beside it."""
    url, secret = settings.require_webhook()
    app = web.Application()
    # An update is acknowledged once handled, not on arrival: Telegram delivers again one
    # that a replica was killed in the middle of (to another replica behind the balancer).
    SimpleRequestHandler(
        dispatcher, bot, handle_in_background=False, secret_token=secret.get_secret_value()
    ).register(app, path=urlsplit(url).path or "/")
    add_status_routes(app, checks)
    if mini_app is not None:
        mini_app.add_to(app)
    setup_application(app, dispatcher, bot=bot)
    return app


async def serve_webhook(
    bot: Bot,
    dispatcher: Dispatcher,
    settings: Settings,
    checks: StatusChecks,
    mini_app: MiniApp | None,
) -> None:
    url, secret = settings.require_webhook()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    app = build_webhook_app(bot, dispatcher, settings, checks, mini_app)
    async with serve_app(app, settings.webhook_host, settings.webhook_port):
        await bot.set_webhook(
            url,
            secret_token=secret.get_secret_value(),
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
        await stop.wait()


async def poll(
    bot: Bot,
    dispatcher: Dispatcher,
    settings: Settings,
    checks: StatusChecks,
    mini_app: MiniApp | None,
) -> None:
    """Long-poll Telegram until SIGINT/SIGTERM (aiogram's handlers), with the status routes on
    HEALTH_PORT when it is set, and the Mini App, if any, on WEBAPP_HOST:WEBAPP_PORT."""
    # getUpdates is refused while a webhook is set: a bot moved from webhook mode to polling
    # would otherwise only log conflicts. The updates waiting there are kept.
    await bot.delete_webhook()
    async with AsyncExitStack() as stack:
        if settings.health_port is not None:
            app = web.Application()
            add_status_routes(app, checks)
            await stack.enter_async_context(
                serve_app(app, settings.webhook_host, settings.health_port)
            )
        if mini_app is not None:
            app = web.Application()
            mini_app.add_to(app)
            await stack.enter_async_context(
                serve_app(app, settings.webapp_host, settings.webapp_port)
            )
        await dispatcher.start_polling(bot, handle_signals=True, close_bot_session=False)


@contextmanager
def cancelled_by_signals() -> Iterator[list[int]]:
    """SIGINT and SIGTERM cancel the current task, until whatever serves updates installs its
    own handlers: start-up may wait on a hung panel, and as PID 1 in a container a process
    that handles no signal ignores SIGTERM. Yields the signals received."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def cancel(signum: int) -> None:
        received.append(signum)
        # Once: a second signal (Ctrl-C twice) must not cut short the clean-up the first began.
        if task is not None and len(received) == 1:
            task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, cancel, signum)
    try:
        yield received
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (everywhere but Windows), as aiogram
    recommends; else None, asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def run_bot(settings: Settings) -> None:
    """Poll Telegram (or serve the webhook) until SIGINT/SIGTERM, then close everything. A
    signal during start-up stops it there."""
    with cancelled_by_signals() as signals:
        try:
            await _serve(settings)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not signals or current is None:
                raise
            current.uncancel()
            logger.info("stopped during start-up (signal %d)", signals[0])


async def _serve(settings: Settings) -> None:
    async with running(settings) as (bot, dispatcher, services):
        if not settings.team and settings.access == "allowlist":
            logger.warning(
                "ALLOWED_USERS and ADMIN_IDS are empty and ACCESS=allowlist: nobody can use the "
                "bot yet; each person it refuses is told their Telegram id, to add here"
            )
        logger.info(
            "starting: %s, %s mode, database %s, %d tracked orders",
            "polling" if settings.webhook_url is None else "webhook",
            "operator" if services.accounts.operator is not None else "personal",
            settings.database_shown,
            await orders.count_tracked(services.db),
        )
        tune_process()
        mini_app = None if settings.webapp_url is None else services.mini_app
        if settings.webhook_url is None:
            await poll(bot, dispatcher, settings, services.status, mini_app)
        else:
            await serve_webhook(bot, dispatcher, settings, services.status, mini_app)
