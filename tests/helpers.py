"""What the tests share besides fixtures: waiting for something to happen, reading a person's
chat, and the quick tracker and notifier settings."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

from bot.i18n import build_i18n
from bot.notifier import NotifierConfig
from bot.sandbox.telegram import ChatMessage, SimulatedUser, TelegramEmulator
from bot.tracker import TrackerConfig

# -- waiting -----------------------------------------------------------------------------


async def eventually(
    condition: Callable[[], object],
    within: float = 15.0,
    *,
    interval: float = 0.02,
    message: str | Callable[[], str] = "condition not met in time",
) -> None:
    """Until `condition` (a plain or an async function) gives something true, asked every
    `interval` seconds; an AssertionError saying `message` if `within` seconds pass first."""
    deadline = time.monotonic() + within
    while not await _holds(condition):
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        await asyncio.sleep(interval)


async def _holds(condition: Callable[[], object]) -> bool:
    answer = condition()
    if inspect.isawaitable(answer):
        answer = await answer
    return bool(answer)


# -- a person's chat ---------------------------------------------------------------------


def said(user: SimulatedUser, text: str) -> bool:
    """Whether any of the bot's messages to `user` still in the chat contains `text`."""
    return any(text in message.text for message in user.bot_messages)


def has_button(user: SimulatedUser, label: str) -> Callable[[], bool]:
    """A condition: the bot's latest message to `user` has a button labelled `label`."""
    return lambda: bool(user.bot_messages) and user.last_message.find_button(label) is not None


def shows(user: SimulatedUser, text: str) -> Callable[[], bool]:
    """A condition: the bot's latest message to `user` contains `text`."""
    return lambda: bool(user.bot_messages) and text in user.last_message.text


def service_name(label: str) -> str:
    """A service's button label without the unit price it ends in ("Instagram Likes ·
    RUB 0.50/1K" -> "Instagram Likes")."""
    name, sep, tag = label.rpartition(" · ")
    return name if sep and any(char.isdigit() for char in tag) else label


def service_button(user: SimulatedUser, name: str) -> str | None:
    """The label of the button for service `name` on the bot's latest message, or None."""
    if not user.bot_messages:
        return None
    for label in user.last_message.button_labels:
        if label == name or service_name(label) == name:
            return label
    return None


async def press_service(user: SimulatedUser, name: str) -> None:
    """Press the button of service `name` on the bot's latest message (it ends in a price)."""
    label = service_button(user, name)
    assert label is not None, f"no button for {name!r}: {user.last_message.button_labels}"
    await user.press(label)


def names(labels: list[str]) -> list[str]:
    """Button labels as the services' names, without their prices."""
    return [service_name(label) for label in labels]


# -- tracking and notifications ----------------------------------------------------------

FAST_TRACKING = TrackerConfig(
    base_interval=0.05,
    max_interval=0.2,
    rate_per_second=200,
    breaker_base=0.3,
    breaker_max=0.6,
    idle_poll=0.02,
)
FAST_NOTIFIER = NotifierConfig(
    per_chat_per_second=50, idle_poll=0.02, retry_base=0.05, retry_max=0.2, max_attempts=4
)
FINAL_WORDS = {
    "5": "is complete",
    "7": "Cancelled by the panel",
    "11": "Refunded",
}


def notifications(user: SimulatedUser) -> list[str]:
    """The tracker's messages (not the bot's answers in the conversation)."""
    return [
        m.text for m in user.bot_messages if m.text.startswith("🔔") or " is complete" in m.text
    ]


def finished(user: SimulatedUser, order_id: str) -> int:
    """How many messages told `user` that the order ended."""
    marks = (*FINAL_WORDS.values(), "Partly delivered", "no longer knows")
    return sum(
        1
        for text in notifications(user)
        if f"#{order_id}" in text and any(m in text for m in marks)
    )


# -- the person's side of the chat -------------------------------------------------------

Russian = Callable[..., str]


def russian() -> Russian:
    """A message as the bot says it in Russian: `ru(msgid, **placeholders)`."""
    i18n = build_i18n()

    def say(msgid: str, **values: str) -> str:
        return i18n.gettext(msgid, locale="ru").format(**values)

    return say


def typed(user: SimulatedUser) -> list[str]:
    """What the person wrote that is still in the chat."""
    return [m.text for m in user.messages if not m.from_bot]


def with_buttons(user: SimulatedUser) -> list[ChatMessage]:
    return [m for m in user.bot_messages if m.button_labels]


async def send_without_text(
    emulator: TelegramEmulator, user: SimulatedUser, shown: str, **content: Any
) -> None:
    """The person sends something that is not text (`location=…`, `sticker=…`), shown in
    their chat as `shown`, and the bot deals with it."""
    message = ChatMessage(
        chat_id=user.id, message_id=emulator.next_message_id(user.id), from_bot=False, text=shown
    )
    emulator.record_message(message)
    payload = emulator.message_payload(message)
    del payload["text"]
    payload.update(content)
    await emulator.wait_handled(emulator.push_update("message", payload))
