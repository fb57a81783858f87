"""What an update costs the bot's own logic: CPU per update, step by step, in one process.

`benchmarks.flow` measures the real thing (the bot in its own process, Telegram over HTTP)
and on this shared machine its figures move by 2x from one minute to the next. This one
leaves out what the bot and the bare bot share, the Telegram transport: Bot API requests are
answered in-process by a stub session. The real dispatcher, middlewares, FSM storage,
SQLite file and panel client (the sandbox panel, over HTTP, in its own process) run as in
production; the bare dispatcher is `benchmarks.flow`'s. CPU is this process's (threads
included: SQLite runs on aiosqlite's), summed over `--users` people taking each step at
once, and each run's people are new to the bot, as in `benchmarks.flow`.

    python -m benchmarks.update_cost [--users 300] [--runs 5]

Prints one JSON line last: milliseconds of CPU per update (medians over runs), the bot's and
the bare dispatcher's, per step too, and what one panel request costs on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from aiogram import Bot, Dispatcher, methods
from aiogram.client.session.base import BaseSession
from aiogram.methods.base import TelegramMethod, TelegramType
from aiogram.types import Chat, InlineKeyboardMarkup, Message, Update, User
from cryptography.fernet import Fernet
from pydantic import SecretStr

from benchmarks.flow import BARE_FLOW, FLOW, bare_dispatcher, panel_calls, start_panel
from bot.app import running
from bot.config import Settings
from bot.sandbox.telegram import ChatMessage
from bot.smmlaba import Panel
from bot.tuning import tune_process

BOT_TOKEN = "42:update-cost"  # noqa: S105 (the stub accepts any token)


class StubSession(BaseSession):
    """Answers every Bot API request at once, in-process; remembers each chat's latest
    keyboard so that people can press its buttons."""

    def __init__(self) -> None:
        super().__init__()
        self._message_ids = itertools.count(1000)
        self._chats: dict[int, Chat] = {}
        # Copying one message is far cheaper than building one of ~100 fields: this cost
        # is the stub's, shared by both dispatchers, and should stay small.
        self._template = Message.model_construct(
            message_id=0, date=datetime.now(UTC), chat=Chat(id=0, type="private"), text=""
        )
        self.screens: dict[int, tuple[int, str, InlineKeyboardMarkup | None]] = {}
        self.requests = 0
        self._me = User(id=1, is_bot=True, first_name="Bot", username="benchmark_bot")

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        self.requests += 1
        if isinstance(method, methods.SendMessage | methods.EditMessageText):
            chat_id = int(method.chat_id or 0)
            if isinstance(method, methods.SendMessage):
                message_id = next(self._message_ids)
            else:
                message_id = method.message_id or 0
            markup = method.reply_markup
            keyboard = markup if isinstance(markup, InlineKeyboardMarkup) else None
            text = method.text or ""
            self.screens[chat_id] = (message_id, text, keyboard)
            return cast(TelegramType, self._message(chat_id, message_id, text))
        if isinstance(method, methods.GetMe):
            return cast(TelegramType, self._me)
        if isinstance(method, methods.EditMessageReplyMarkup):
            chat_id = int(method.chat_id or 0)
            return cast(TelegramType, self._message(chat_id, method.message_id or 0, ""))
        return cast(TelegramType, True)

    def _message(self, chat_id: int, message_id: int, text: str) -> Message:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = Chat(id=chat_id, type="private")
        return self._template.model_copy(
            update={"message_id": message_id, "chat": chat, "text": text}
        )

    async def close(self) -> None:
        pass

    def stream_content(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


class People:
    """Updates as Telegram would deliver them, already bound to the bot (as polling does)."""

    def __init__(self, bot: Bot, session: StubSession) -> None:
        self._bot = bot
        self._session = session
        self._ids = itertools.count(1)

    def _person(self, user_id: int) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User{user_id}",
            "language_code": "en",
        }

    def update(self, user_id: int, kind: str, text: str) -> Update:
        if kind == "send":
            return self._update({"message": self._typed(user_id, text)})
        message_id, screen, keyboard = self._session.screens[user_id]
        shown = ChatMessage(
            user_id,
            message_id,
            from_bot=True,
            text=screen,
            reply_markup=keyboard.model_dump(exclude_none=True) if keyboard else None,
        )
        button = shown.find_button(text)  # as the emulator's people find buttons
        if button is None or button.callback_data is None:
            raise RuntimeError(f"no button {text!r} in {shown.button_labels}")
        return self._update(
            {
                "callback_query": {
                    "id": str(next(self._ids)),
                    "from": self._person(user_id),
                    "chat_instance": str(user_id),
                    "data": button.callback_data,
                    "message": {
                        "message_id": message_id,
                        "date": shown.date,
                        "chat": {"id": user_id, "type": "private"},
                        "text": screen,
                        "reply_markup": shown.reply_markup,
                    },
                }
            }
        )

    def _typed(self, user_id: int, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private"},
            "from": self._person(user_id),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return message

    def _update(self, payload: dict[str, Any]) -> Update:
        return Update.model_validate(
            {"update_id": next(self._ids), **payload}, context={"bot": self._bot}
        )


async def walk(
    dispatcher: Dispatcher,
    bot: Bot,
    people: People,
    flow: list[tuple[str, str]],
    user_ids: range,
) -> dict[str, float]:
    """Every person takes each step of `flow` at the same time; CPU ms per update, by step
    (named as in the bot's flow, which the bare one follows step for step)."""
    cost: dict[str, float] = {}
    for (kind, text), (_, step) in zip(flow, FLOW, strict=True):
        updates = [people.update(user_id, kind, text) for user_id in user_ids]
        started = time.process_time()
        await asyncio.gather(*(dispatcher.feed_update(bot, update) for update in updates))
        cost[step[:24]] = (time.process_time() - started) / len(updates) * 1000
    return cost


async def panel_request_cost(panel: Panel, requests: int = 200) -> float:
    """CPU ms of one `balance` request through the panel client, 20 at a time."""
    started = time.process_time()
    for _ in range(requests // 20):
        await asyncio.gather(*(panel.balance() for _ in range(20)))
    return (time.process_time() - started) / requests * 1000


async def measure(users: int, runs: int) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        panel_url, username, api_key = await start_panel(stack)
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        everyone = range(1_000_000, 1_000_000 + users * (runs + 1))
        settings = Settings(
            _env_file=None,
            bot_token=SecretStr(BOT_TOKEN),
            smmlaba_api_url=panel_url,
            smmlaba_username=username,
            smmlaba_apikey=SecretStr(api_key),
            allowed_users=frozenset(everyone),
            database_path=workdir / "bot.sqlite3",
            bot_secret_key=SecretStr(Fernet.generate_key().decode()),
        )
        bot_runs: list[dict[str, float]] = []
        bare_runs: list[dict[str, float]] = []
        async with running(settings) as (bot, dispatcher, services):
            session = StubSession()
            bot.session = session
            # The size of the bot's screens here, as benchmarks.flow measures it ("bare_payload").
            bare = bare_dispatcher(text_chars=76, button_count=4)
            people = People(bot, session)
            for run in range(runs + 1):  # run 0 warms up
                group = everyone[run * users : (run + 1) * users]
                bot_cost = await walk(dispatcher, bot, people, FLOW, group)
                bare_cost = await walk(bare, bot, people, BARE_FLOW, group)
                if run:
                    bot_runs.append(bot_cost)
                    bare_runs.append(bare_cost)
            # Each person's walk must have been a whole order: a balance and an add each.
            orders_placed = users * (runs + 1)
            if await panel_calls(panel_url) != 2 * orders_placed:
                raise RuntimeError("the people's orders did not all reach the panel")
            assert services.accounts.operator is not None
            panel_ms = await panel_request_cost(services.accounts.operator.panel)
    bot_ms = statistics.median(statistics.mean(r.values()) for r in bot_runs)
    bare_ms = statistics.median(statistics.mean(r.values()) for r in bare_runs)
    return {
        "users": users,
        "runs": runs,
        "bot_ms_per_update": round(bot_ms, 3),
        "bare_ms_per_update": round(bare_ms, 3),
        "logic_ms_per_update": round(bot_ms - bare_ms, 3),
        "panel_request_ms": round(panel_ms, 3),
        "step_ms": {
            step: round(statistics.median(r[step] for r in bot_runs), 3) for step in bot_runs[0]
        },
        "bare_step_ms": {
            step: round(statistics.median(r[step] for r in bare_runs), 3) for step in bare_runs[0]
        },
        "telegram_requests": session.requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tune_process()  # as `smmbot run` does
    print(json.dumps(asyncio.run(measure(args.users, args.runs)), ensure_ascii=False))


if __name__ == "__main__":
    main()
