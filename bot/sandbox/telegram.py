"""A Telegram Bot API emulator (aiohttp) with simulated users, for tests, benchmarks and the demo.

The real aiogram `Bot` talks to it through `TELEGRAM_API_URL`. Every request is checked against
the Bot API specification and Telegram's limits (`bot.sandbox.botapi`); a request Telegram
would refuse is answered the way Telegram answers it and recorded in `violations`, so a test
can fail on it. Simulated users type and press buttons by label:

    alice = emulator.user(1001, "Alice", language_code="en")
    await alice.send("/start")
    await alice.press("🛒 New order")
    assert "Choose a platform" in alice.last_message.text
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.ratelimit import TokenBucket
from bot.sandbox.botapi import (
    BadRequest,
    caption_text,
    check_commands,
    check_description,
    check_reply_markup,
    decode_parameters,
    message_text,
    method_fields,
    utf16_length,
)
from bot.serving import serve_app

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
WEBHOOK_TIMEOUT = 60.0  # how long a delivery waits for the bot's answer


@dataclass(frozen=True)
class Button:
    text: str
    callback_data: str | None = None
    url: str | None = None
    web_app: str | None = None  # the Mini App it opens


@dataclass
class ChatMessage:
    """A message as the person sees it: `text` is what shows, `html` what the bot sent."""

    chat_id: int
    message_id: int
    from_bot: bool
    text: str
    html: str = ""
    reply_markup: dict[str, Any] | None = None
    date: int = field(default_factory=lambda: int(time.time()))
    edits: int = 0
    deleted: bool = False
    sender: int | None = None  # who wrote it in a group; None in a private chat
    photo: bytes | None = None  # a picture's file, as sent; `text` is its caption

    @property
    def buttons(self) -> list[list[Button]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [
            [
                Button(
                    b["text"], b.get("callback_data"), b.get("url"), b.get("web_app", {}).get("url")
                )
                for b in row
            ]
            for row in rows
        ]

    @property
    def button_labels(self) -> list[str]:
        return [button.text for row in self.buttons for button in row]

    def find_button(self, label: str) -> Button | None:
        """The button labelled `label`; failing that, the one button whose label contains it."""
        every = [button for row in self.buttons for button in row]
        exact = [b for b in every if b.text == label]
        if exact:
            return exact[0]
        partial = [b for b in every if label.casefold() in b.text.casefold()]
        return partial[0] if len(partial) == 1 else None

    def __str__(self) -> str:
        who = "bot" if self.from_bot else "user"
        labels = " ".join(f"[{label}]" for label in self.button_labels)
        return f"{who}#{self.message_id}: {self.text}" + (f"\n    {labels}" if labels else "")


@dataclass(frozen=True)
class Violation:
    """A request Telegram would have refused."""

    method: str
    description: str
    parameters: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method}: {self.description} ({json.dumps(self.parameters)[:300]})"


@dataclass(frozen=True)
class Call:
    method: str
    parameters: dict[str, Any]
    at: float
    status: int


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str | None
    max_connections: int = 40


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the bot: where, and whether the bot took it (2xx)."""

    update_id: int
    target: str
    ok: bool
    chat: int


def _chat_of(update: dict[str, Any]) -> int:
    """The chat an update is about (its sender's, for a button on no message)."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, dict):
            continue
        message = payload.get("message", payload)
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict):
            return int(chat["id"])
        return int(payload.get("from", {}).get("id", 0))
    return 0


@dataclass
class RateLimits:
    """Telegram's message limits: about `per_second` overall and `per_chat_per_second`."""

    per_second: float = 30.0
    per_chat_per_second: float = 1.0
    burst: int = 3


@dataclass
class InjectedFailure:
    """Answer the next `count` calls of `method` with `status` (429 carries `retry_after`)."""

    method: str
    status: int
    count: int
    retry_after: int = 1
    description: str = ""


class TelegramEmulator:
    def __init__(
        self,
        token: str = "123456:TEST-emulator-token",  # noqa: S107 - the emulator's own
        *,
        bot_username: str = "smmlaba_test_bot",
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.rate_limits = rate_limits
        self.violations: list[Violation] = []
        self.calls: list[Call] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        # What an empty chat shows before /start, by language code ("" for everyone else).
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        # The menu button beside the chat's input field, by chat (None: every chat's).
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.users: dict[int, SimulatedUser] = {}
        self.messages: dict[int, list[ChatMessage]] = defaultdict(list)
        self.failures: list[InjectedFailure] = []
        self.latency: dict[str, float] = {}  # method -> seconds to wait before answering
        self.listeners: list[Callable[[str, ChatMessage], None]] = []
        # Called with (method, decoded parameters) after every request that succeeded.
        self.call_listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._updates: list[dict[str, Any]] = []
        # Update ids go on from where another bot's left off, as Telegram's are never reused:
        # bots started one after another may share a Redis that remembers handled ids.
        self._next_update = itertools.count(secrets.randbelow(2**30) + 1)
        self._next_message: dict[int, itertools.count[int]] = defaultdict(
            lambda: itertools.count(1)
        )
        self._new_update = asyncio.Event()
        self._stopping = asyncio.Event()
        self._callbacks: dict[str, tuple[int, bool]] = {}  # query id -> (user id, answered)
        self._next_callback = itertools.count(1)
        self._delivered: dict[int, float] = {}
        self._handled: dict[int, asyncio.Event] = {}
        self.tracks_handling = False
        self.polled = asyncio.Event()  # set whenever the bot asks for updates
        self._last_call = time.monotonic()
        self._global_bucket: TokenBucket | None = None
        self._chat_buckets: dict[int, TokenBucket] = {}
        # Webhook mode (`setWebhook`): updates are POSTed to the bot instead of fetched.
        self.webhook: Webhook | None = None
        # Where deliveries go in turn instead of the registered URL, as a load balancer
        # spreads them over replicas; None: the URL the bot registered.
        self.webhook_targets: list[str] | None = None
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.handling_timeout = 10.0  # how long a simulated person waits for the bot
        self._delivering: asyncio.Task[None] | None = None
        self._posting: set[int] = set()  # chats with an update on its way
        self._retry_at: dict[int, float] = {}
        self._tries: dict[int, int] = {}
        self._next_target = itertools.count()

    # -- test-facing API -----------------------------------------------------------------

    def user(
        self, user_id: int, first_name: str, *, language_code: str = "en", username: str = ""
    ) -> SimulatedUser:
        user = SimulatedUser(self, user_id, first_name, language_code, username)
        self.users[user_id] = user
        return user

    def group(self, group_id: int, title: str = "Team") -> SimulatedUser:
        """A group chat the bot is in (a negative id, as Telegram's are): its messages are the
        returned object's; people write in it with `SimulatedUser.send(..., chat=group)`."""
        group = SimulatedUser(self, group_id, title, "en", "")
        group.is_group = True
        self.users[group_id] = group
        return group

    def fail_next(
        self,
        method: str,
        status: int,
        count: int = 1,
        retry_after: int = 1,
        description: str = "",
    ) -> None:
        self.failures.append(InjectedFailure(method, status, count, retry_after, description))

    def mark_handled(self, update_id: int) -> None:
        """Called by a test harness (a middleware around the dispatcher) when the bot has
        finished an update; `tracks_handling` says there is one."""
        self._handled.setdefault(update_id, asyncio.Event()).set()

    def delivered_at(self, update_id: int) -> float | None:
        return self._delivered.get(update_id)

    async def wait_handled(self, update_id: int, within: float | None = None) -> None:
        """Until the bot has dealt with the update: the harness says so, or (without a
        harness) the update was fetched and the bot then stayed quiet for a moment."""
        within = self.handling_timeout if within is None else within
        if self.tracks_handling:
            event = self._handled.setdefault(update_id, asyncio.Event())
            await asyncio.wait_for(event.wait(), within)
            return
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if update_id in self._delivered and time.monotonic() - self._last_call > 0.05:
                return
            await asyncio.sleep(0.01)
        raise TimeoutError(f"update {update_id} was not handled in {within}s")

    def push_update(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = next(self._next_update)
        self._updates.append({"update_id": update_id, kind: payload})
        self._new_update.set()
        return update_id

    def pending_update(self, update_id: int) -> dict[str, Any] | None:
        """An update the bot has not confirmed yet."""
        return next((u for u in self._updates if u["update_id"] == update_id), None)

    def new_callback_id(self, user_id: int) -> str:
        query_id = f"{user_id}{next(self._next_callback):08d}"
        self._callbacks[query_id] = (user_id, False)
        return query_id

    def next_message_id(self, chat_id: int) -> int:
        return next(self._next_message[chat_id])

    def record_message(self, message: ChatMessage) -> None:
        self.messages[message.chat_id].append(message)
        self._notify("new", message)

    def _notify(self, event: str, message: ChatMessage) -> None:
        for listener in self.listeners:
            listener(event, message)

    # -- HTTP ----------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_shutdown(self, _app: web.Application) -> None:
        self._stopping.set()
        self._new_update.set()
        if self._delivering is not None:
            await asyncio.gather(self._delivering, return_exceptions=True)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _reply_error(401, "Unauthorized")
        raw, from_form, files = await _read_parameters(request)
        for part in files:  # a parameter sent as the file itself, not as attach://<part>
            if part in (method_fields(method) or {}) and part not in raw:
                raw[part] = f"attach://{part}"
        self._last_call = time.monotonic()
        if self.latency.get(method):
            await asyncio.sleep(self.latency[method])
        try:
            failure = self._injected(method)
            if failure is not None:
                raise failure
            params = decode_parameters(method, raw, from_form=from_form)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise BadRequest("Not Found", status=404)
            result = await (handler(params, files) if method in UPLOADS else handler(params))
        except _Refusal as refusal:
            self.calls.append(Call(method, raw, time.time(), refusal.status))
            return _reply_error(refusal.status, refusal.description, refusal.retry_after)
        except BadRequest as error:
            self.violations.append(Violation(method, error.description, raw))
            self.calls.append(Call(method, raw, time.time(), error.status))
            return _reply_error(error.status, error.description)
        self.calls.append(Call(method, raw, time.time(), 200))
        self._last_call = time.monotonic()
        for listener in self.call_listeners:
            listener(method, params)
        return web.json_response({"ok": True, "result": result})

    def _injected(self, method: str) -> _Refusal | None:
        for failure in self.failures:
            if failure.method in (method, "*") and failure.count > 0:
                failure.count -= 1
                if failure.status == 429:
                    return _Refusal(
                        429,
                        f"Too Many Requests: retry after {failure.retry_after}",
                        failure.retry_after,
                    )
                return _Refusal(failure.status, failure.description or _STATUS_TEXT[failure.status])
        return None

    def _throttle(self, chat_id: int) -> None:
        limits = self.rate_limits
        if limits is None:
            return
        if self._global_bucket is None:
            self._global_bucket = TokenBucket(limits.per_second, limits.per_second)
        chat = self._chat_buckets.get(chat_id)
        if chat is None:
            chat = self._chat_buckets[chat_id] = TokenBucket(
                limits.per_chat_per_second, limits.burst
            )
        # Each bucket that has a token gives one, even when the other refuses.
        waits = [0.0 if b.try_acquire() else b.wait_time() for b in (chat, self._global_bucket)]
        wait = max(waits)
        if wait > 0:
            retry_after = max(1, int(wait + 0.999))
            raise _Refusal(429, f"Too Many Requests: retry after {retry_after}", retry_after)

    # -- methods -------------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "SMMLaba",
            "username": self.bot_username,
        }

    async def _api_getMe(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_user(),
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = params["url"]
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise BadRequest("Bad Request: bad webhook: HTTPS url must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise BadRequest("Bad Request: secret token contains unallowed characters")
        self.webhook = Webhook(url, secret, max(1, min(100, params.get("max_connections", 40))))
        self.tracks_handling = True  # the bot's answer to a delivery says it is done
        if self._delivering is None or self._delivering.done():
            self._delivering = asyncio.create_task(self._deliver_updates(), name="webhook")
        self._new_update.set()
        return True

    async def _api_getWebhookInfo(self, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "" if self.webhook is None else self.webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    # -- webhook delivery ----------------------------------------------------------------

    async def _deliver_updates(self) -> None:
        """POST each pending update to the webhook, as Telegram does: the secret in
        `X-Telegram-Bot-Api-Secret-Token`, one update of a chat at a time and in order, up to
        `max_connections` at once, and a failed delivery (no answer, or not 2xx) tried again
        later, at the next of `webhook_targets` when a test spreads them like a load
        balancer."""
        tasks: set[asyncio.Task[None]] = set()
        async with ClientSession() as http:
            while self.webhook is not None and not self._stopping.is_set():
                self._new_update.clear()
                now = time.monotonic()
                waiting = set(self._posting)  # chats whose update is on its way
                for update in list(self._updates):
                    if len(tasks) >= self.webhook.max_connections:
                        break
                    chat = _chat_of(update)
                    if chat in waiting:
                        continue
                    waiting.add(chat)  # the chat's later updates wait behind this one
                    if self._retry_at.get(update["update_id"], 0.0) > now:
                        continue
                    self._posting.add(chat)
                    task = asyncio.create_task(self._post(http, self.webhook, update, chat))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), 0.05)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _post(
        self, http: ClientSession, webhook: Webhook, update: dict[str, Any], chat: int
    ) -> None:
        update_id = update["update_id"]
        targets = self.webhook_targets or [webhook.url]
        target = targets[next(self._next_target) % len(targets)]
        headers = {} if webhook.secret is None else {SECRET_HEADER: webhook.secret}
        self._delivered.setdefault(update_id, time.monotonic())
        try:
            async with http.post(
                target, json=update, headers=headers, timeout=ClientTimeout(WEBHOOK_TIMEOUT)
            ) as response:
                body = await response.read()
                ok = 200 <= response.status < 300
        except (OSError, TimeoutError, ClientError) as exc:
            ok, body = False, str(exc).encode()
        finally:
            self._posting.discard(chat)
            self._new_update.set()
        self.webhook_deliveries.append(WebhookDelivery(update_id, target, ok, chat))
        if not ok:
            tries = self._tries[update_id] = self._tries.get(update_id, 0) + 1
            self._retry_at[update_id] = time.monotonic() + min(2.0, 0.05 * 2**tries)
            return
        self._updates = [u for u in self._updates if u["update_id"] != update_id]
        self._retry_at.pop(update_id, None)
        await self._answer_in_response(body)
        self.mark_handled(update_id)  # the bot answers once it has dealt with the update

    async def _answer_in_response(self, body: bytes) -> None:
        """A webhook may answer with one method call, which Telegram then makes."""
        try:
            call = json.loads(body) if body else None
        except ValueError:
            return
        if not isinstance(call, dict) or "method" not in call:
            return
        method = call.pop("method")
        handler = getattr(self, f"_api_{method}", None)
        try:
            if handler is None:
                raise BadRequest("Not Found", status=404)
            await handler(decode_parameters(method, call, from_form=False))
        except (BadRequest, _Refusal) as error:
            self.violations.append(Violation(method, str(error), call))

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        check_commands(params["commands"])
        scope = params.get("scope", {"type": "default"})["type"]
        self.commands[(scope, params.get("language_code", ""))] = params["commands"]
        return True

    async def _api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        scope = params.get("scope", {"type": "default"})["type"]
        self.commands.pop((scope, params.get("language_code", "")), None)
        return True

    async def _api_setMyDescription(self, params: dict[str, Any]) -> bool:
        self.descriptions[params.get("language_code", "")] = check_description(
            params.get("description", ""), 512
        )
        return True

    async def _api_setMyShortDescription(self, params: dict[str, Any]) -> bool:
        self.short_descriptions[params.get("language_code", "")] = check_description(
            params.get("short_description", ""), 120
        )
        return True

    async def _api_setChatMenuButton(self, params: dict[str, Any]) -> bool:
        button = params.get("menu_button", {"type": "default"})
        if button.get("type") == "web_app" and not button["web_app"]["url"].startswith("https://"):
            raise _Refusal(400, "Bad Request: BUTTON_URL_INVALID")  # Mini Apps are HTTPS only
        self.menu_buttons[params.get("chat_id")] = button
        return True

    async def _api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        scope = params.get("scope", {"type": "default"})["type"]
        return self.commands.get((scope, params.get("language_code", "")), [])

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise _Refusal(409, WEBHOOK_ACTIVE)
        self.polled.set()
        offset = params.get("offset", 0)
        limit = min(100, max(1, params.get("limit", 100)))
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + max(0, params.get("timeout", 0))
        while not self._updates and not self._stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                break
        batch = self._updates[:limit]
        now = time.monotonic()
        for update in batch:
            self._delivered.setdefault(update["update_id"], now)
        return batch

    def _chat(self, chat_id: Any) -> SimulatedUser:
        user = self.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None:
            raise BadRequest("Bad Request: chat not found")
        if user.blocked:
            raise _Refusal(403, "Forbidden: bot was blocked by the user")
        return user

    async def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat(params["chat_id"])
        return True

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._chat(params["chat_id"])
        return self._sent(user, params, message_text(params), params["text"])

    def _sent(
        self,
        user: SimulatedUser,
        params: dict[str, Any],
        text: str,
        html: str,
        photo: bytes | None = None,
    ) -> dict[str, Any]:
        """A new message from the bot in `user`'s chat, within the limits; what Telegram
        answers."""
        check_reply_markup(params.get("reply_markup"))
        self._throttle(user.id)
        message = ChatMessage(
            chat_id=user.id,
            message_id=self.next_message_id(user.id),
            from_bot=True,
            text=text,
            html=html,
            reply_markup=_inline(params.get("reply_markup")),
            photo=photo,
        )
        self.record_message(message)
        return self.message_payload(message)

    async def _api_sendPhoto(
        self, params: dict[str, Any], files: dict[str, bytes]
    ) -> dict[str, Any]:
        user = self._chat(params["chat_id"])
        photo = _uploaded(params["photo"], files)
        return self._sent(user, params, caption_text(params), params.get("caption", ""), photo)

    def _own_message(self, params: dict[str, Any], verb: str) -> ChatMessage:
        if "inline_message_id" in params:
            raise BadRequest("Bad Request: inline messages are not supported by the emulator")
        if "chat_id" not in params or "message_id" not in params:
            raise BadRequest("Bad Request: chat_id and message_id are required")
        user = self._chat(params["chat_id"])
        for message in self.messages[user.id]:
            if message.message_id == params["message_id"] and not message.deleted:
                if not message.from_bot:
                    raise BadRequest(f"Bad Request: message can't be {verb}ed")
                return message
        raise BadRequest(f"Bad Request: message to {verb} not found")

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, "edit")
        if message.photo is not None:
            raise BadRequest("Bad Request: there is no text in the message to edit")
        text = message_text(params)
        check_reply_markup(params.get("reply_markup"))
        markup = _inline(params.get("reply_markup"))
        if params["text"] == message.html and markup == message.reply_markup:
            raise BadRequest(NOT_MODIFIED)
        message.text, message.html, message.reply_markup = text, params["text"], markup
        message.edits += 1
        self._notify("edited", message)
        return self.message_payload(message)

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params, "edit")
        check_reply_markup(params.get("reply_markup"))
        markup = _inline(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise BadRequest(NOT_MODIFIED)
        message.reply_markup = markup
        message.edits += 1
        self._notify("edited", message)
        return self.message_payload(message)

    async def _api_deleteMessage(self, params: dict[str, Any]) -> bool:
        user = self._chat(params["chat_id"])
        for message in self.messages[user.id]:
            if message.message_id == params["message_id"] and not message.deleted:
                message.deleted = True
                self._notify("deleted", message)
                return True
        raise BadRequest("Bad Request: message to delete not found")

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = params["callback_query_id"]
        if query_id not in self._callbacks or self._callbacks[query_id][1]:
            raise BadRequest(QUERY_TOO_OLD)
        text = params.get("text", "")
        if len(text) > 200:
            raise BadRequest("Bad Request: MESSAGE_TOO_LONG")
        user_id = self._callbacks[query_id][0]
        self._callbacks[query_id] = (user_id, True)
        self.users[user_id].callback_answers.append(text)
        return True

    def message_payload(self, message: ChatMessage) -> dict[str, Any]:
        chat = self.users[message.chat_id]
        user = self.users[message.sender] if message.sender is not None else chat
        payload: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": (
                {"id": chat.id, "type": "group", "title": chat.first_name}
                if chat.is_group
                else {"id": chat.id, "type": "private", "first_name": chat.first_name}
            ),
            "from": self._bot_user() if message.from_bot else user.telegram_user(),
        }
        if message.photo is None:
            payload["text"] = message.text
        else:
            width, height = _png_size(message.photo)
            size = {"width": width, "height": height, "file_size": len(message.photo)}
            name = f"{message.chat_id}-{message.message_id}"
            payload["photo"] = [{"file_id": name, "file_unique_id": name, **size}]
            if message.text:
                payload["caption"] = message.text
        if message.edits:
            payload["edit_date"] = int(time.time())
        if message.reply_markup:
            payload["reply_markup"] = message.reply_markup
        return payload


class _Refusal(Exception):
    """An answer Telegram gives at run time (blocked, throttled): not a bug of the bot."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after


_STATUS_TEXT = {
    400: "Bad Request",
    403: "Forbidden: bot was blocked by the user",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _inline(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    if not markup or not markup.get("inline_keyboard"):
        return None
    return markup


async def _read_parameters(
    request: web.Request,
) -> tuple[dict[str, Any], bool, dict[str, bytes]]:
    """The request's parameters, whether they came as a form, and the files uploaded with
    it (multipart), by part name."""
    if request.content_type == "application/json":
        body = await request.json()
        return (body if isinstance(body, dict) else {}), False, {}
    form: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.method == "POST":
        for key, value in (await request.post()).items():
            if isinstance(value, str):
                form[key] = value
                continue
            files[key] = value.file.read() if isinstance(value, web.FileField) else bytes(value)
    return form, True, files


# Methods that take a file, and the magic numbers of the pictures the emulator accepts.
UPLOADS = frozenset({"sendPhoto"})
PICTURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def _uploaded(value: str, files: dict[str, bytes]) -> bytes:
    """The file a parameter names: `attach://<part>`, or the parameter's own part, uploaded
    with the request. A file_id or URL of a file Telegram already has is not something this
    bot sends."""
    part = value.removeprefix("attach://")
    if part not in files:
        raise BadRequest("Bad Request: wrong file identifier/HTTP URL specified")
    data = files[part]
    if not data:
        raise BadRequest("Bad Request: file must be non-empty")
    if len(data) > 10 * 1024 * 1024:
        raise BadRequest("Bad Request: PHOTO_TOO_BIG")
    if not data.startswith(PICTURES):
        raise BadRequest("Bad Request: IMAGE_PROCESS_FAILED")
    return data


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header; (0, 0) for another kind of picture."""
    if not data.startswith(PICTURES[0]) or len(data) < 24:
        return 0, 0
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _reply_error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


class SimulatedUser:
    """A person in a private chat with the bot."""

    def __init__(
        self,
        emulator: TelegramEmulator,
        user_id: int,
        first_name: str,
        language_code: str,
        username: str,
    ) -> None:
        self.emulator = emulator
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.username = username
        self.blocked = False
        self.is_group = False
        self.callback_answers: list[str] = []

    def __repr__(self) -> str:
        return f"SimulatedUser({self.id}, {self.first_name!r})"

    def telegram_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.username:
            user["username"] = self.username
        return user

    def web_app_init_data(self, *, signed_at: float | None = None) -> str:
        """What Telegram hands a Mini App opened by this person (`initData`): their user
        object and the time, signed with the bot's token as Telegram documents it."""
        fields = {
            "query_id": f"AA{self.id}",
            "user": json.dumps(self.telegram_user(), separators=(",", ":"), ensure_ascii=False),
            "auth_date": str(int(time.time() if signed_at is None else signed_at)),
        }
        check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
        secret = hmac.new(b"WebAppData", self.emulator.token.encode(), hashlib.sha256).digest()
        fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
        return urlencode(fields)

    @property
    def messages(self) -> list[ChatMessage]:
        return [m for m in self.emulator.messages[self.id] if not m.deleted]

    @property
    def bot_messages(self) -> list[ChatMessage]:
        return [m for m in self.messages if m.from_bot]

    @property
    def last_message(self) -> ChatMessage:
        """The bot's latest message still in the chat."""
        messages = self.bot_messages
        if not messages:
            raise AssertionError(f"the bot has not written to {self.first_name}")
        return messages[-1]

    @property
    def transcript(self) -> str:
        return "\n".join(str(m) for m in self.messages)

    async def send(self, text: str, *, wait: bool = True, chat: SimulatedUser | None = None) -> int:
        """Type and send `text` (in `chat`, a group, or else the private chat); by default,
        wait until the bot has dealt with it. Returns the update's id."""
        update_id = self.emulator.push_update("message", self.typed(text, chat=chat))
        if wait:
            await self.emulator.wait_handled(update_id)
        return update_id

    def typed(self, text: str, *, chat: SimulatedUser | None = None) -> dict[str, Any]:
        """Type `text` (in `chat`, a group, or else the private chat): the message shows in
        the chat, and this is what Telegram sends the bot about it, for a test to deliver."""
        where = chat or self
        message = ChatMessage(
            chat_id=where.id,
            message_id=self.emulator.next_message_id(where.id),
            from_bot=False,
            text=text,
            html=text,
            sender=self.id if chat is not None else None,
        )
        self.emulator.record_message(message)
        payload = self.emulator.message_payload(message)
        if text.startswith("/"):
            command = text.split()[0]
            payload["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_length(command)}
            ]
        return payload

    async def press(
        self, label: str, *, message: ChatMessage | None = None, wait: bool = True
    ) -> int:
        """Press the button labelled `label` on `message` (by default the latest one that has
        such a button)."""
        candidates = [message] if message is not None else reversed(self.bot_messages)
        for candidate in candidates:
            button = candidate.find_button(label)
            if button is not None:
                break
        else:
            where = message or (self.bot_messages[-1] if self.bot_messages else None)
            raise AssertionError(
                f"{self.first_name} sees no button {label!r}; buttons: "
                f"{where.button_labels if where else []}"
            )
        if button.callback_data is None:
            raise AssertionError(f"button {label!r} opens a URL, it sends nothing to the bot")
        return await self.press_data(button.callback_data, message=candidate, wait=wait)

    async def press_data(
        self, data: str, *, message: ChatMessage | None = None, wait: bool = True
    ) -> int:
        """Send a callback query with any data, as a forged or stale button would; returns
        the update's id."""
        message = message or self.last_message
        update_id = self.emulator.push_update(
            "callback_query",
            {
                "id": self.emulator.new_callback_id(self.id),
                "from": self.telegram_user(),
                "message": self.emulator.message_payload(message),
                "chat_instance": f"ci{self.id}",
                "data": data,
            },
        )
        if wait:
            await self.emulator.wait_handled(update_id)
        return update_id

    def block(self) -> None:
        """The person blocks the bot: sending to them answers 403 from now on."""
        self.blocked = True


@asynccontextmanager
async def serve(
    emulator: TelegramEmulator, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve the emulator until the block ends; yields the base URL for TELEGRAM_API_URL."""
    async with serve_app(emulator.app(), host, port) as base:
        yield base


class HandledMarker(BaseMiddleware):
    """Tells the emulator when the bot is done with an update, error handling included, so
    simulated people (the tests', the demo's) wait for exactly that. Registered outermost on
    the dispatcher (`handlers.middlewares.register_outermost`)."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self.emulator = emulator
        emulator.tracks_handling = True

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        finally:
            if isinstance(event, Update):
                self.emulator.mark_handled(event.update_id)
