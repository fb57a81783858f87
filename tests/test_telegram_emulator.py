"""The Telegram emulator refuses what Telegram refuses, over real HTTP, and records it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.sandbox.botapi import BadRequest, render_html
from bot.sandbox.telegram import RateLimits, TelegramEmulator, serve

Call = tuple[TelegramEmulator, httpx.AsyncClient, str]


@pytest.fixture
async def api() -> AsyncIterator[Call]:
    emulator = TelegramEmulator(
        rate_limits=RateLimits(per_second=30, per_chat_per_second=1, burst=3)
    )
    emulator.user(42, "Anna")
    async with serve(emulator) as url, httpx.AsyncClient() as http:
        yield emulator, http, f"{url}/bot{emulator.token}"


async def call(
    api: Call, method: str, *, form: dict[str, Any] | None = None, **body: Any
) -> httpx.Response:
    _, http, base = api
    if form is not None:
        return await http.post(f"{base}/{method}", data=form)
    return await http.post(f"{base}/{method}", json=body)


def keyboard(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"inline_keyboard": [list(buttons)]}


async def test_a_good_message_is_accepted_form_encoded_and_as_json(api: Call) -> None:
    emulator = api[0]
    sent = await call(
        api,
        "sendMessage",
        form={
            "chat_id": "42",
            "text": "<b>Hi</b> &amp; bye",
            "parse_mode": "HTML",
            "reply_markup": json.dumps(keyboard({"text": "Go", "callback_data": "go"})),
        },
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["result"]["text"] == "Hi & bye"
    second = await call(api, "sendMessage", chat_id=42, text="plain", disable_notification=True)
    assert second.status_code == 200
    assert [m.text for m in emulator.users[42].bot_messages] == ["Hi & bye", "plain"]
    assert emulator.violations == []


@pytest.mark.parametrize(
    ("method", "body", "description"),
    [
        ("sendMesage", {"chat_id": 42, "text": "x"}, "Not Found"),
        ("sendMessage", {"text": "x"}, 'parameter "chat_id" is required'),
        ("sendMessage", {"chat_id": 42, "text": "x", "colour": "red"}, "unknown parameter"),
        ("sendMessage", {"chat_id": 42, "text": 5}, 'can\'t parse parameter "text"'),
        ("sendMessage", {"chat_id": 42.5, "text": "x"}, 'can\'t parse parameter "chat_id"'),
        ("sendMessage", {"chat_id": 42, "text": "   "}, "message text is empty"),
        ("sendMessage", {"chat_id": 42, "text": "я" * 4097}, "message is too long"),
        ("sendMessage", {"chat_id": 7, "text": "x"}, "chat not found"),
        (
            "sendMessage",
            {
                "chat_id": 42,
                "text": "x",
                "reply_markup": keyboard({"text": "A", "callback_data": "é" * 33}),
            },
            "BUTTON_DATA_INVALID",
        ),
        (
            "sendMessage",
            {
                "chat_id": 42,
                "text": "x",
                "reply_markup": keyboard({"text": "A", "callback_data": ""}),
            },
            "BUTTON_DATA_INVALID",
        ),
        (
            "sendMessage",
            {
                "chat_id": 42,
                "text": "x",
                "reply_markup": keyboard({"text": "A", "callback_data": "a", "url": "https://x.y"}),
            },
            "exactly one",
        ),
        (
            "sendMessage",
            {"chat_id": 42, "text": "x", "reply_markup": keyboard({"text": "A"})},
            "exactly one",
        ),
        (
            "sendMessage",
            {"chat_id": 42, "text": "x", "reply_markup": keyboard({"text": "A", "callback": "a"})},
            "has no field 'callback'",
        ),
        (
            "sendMessage",
            {"chat_id": 42, "text": "a <b>b", "parse_mode": "HTML"},
            "can't parse entities",
        ),
        (
            "sendMessage",
            {"chat_id": 42, "text": "a < b", "parse_mode": "HTML"},
            "can't parse entities",
        ),
        (
            "sendMessage",
            {"chat_id": 42, "text": "a & b", "parse_mode": "HTML"},
            "can't parse entities",
        ),
        (
            "sendMessage",
            {"chat_id": 42, "text": "<blink>x</blink>", "parse_mode": "HTML"},
            "unsupported start tag",
        ),
        (
            "sendMessage",
            {"chat_id": 42, "text": "<b>x</i>", "parse_mode": "HTML"},
            "unexpected end tag",
        ),
        (
            "setMyCommands",
            {"commands": [{"command": "Start!", "description": "x"}]},
            "BOT_COMMAND_INVALID",
        ),
        (
            "setMyCommands",
            {"commands": [{"command": "start", "description": "x"}], "scope": {"type": "nowhere"}},
            "matches no kind",
        ),
        ("editMessageText", {"chat_id": 42, "message_id": 99}, 'parameter "text" is required'),
        (
            "editMessageText",
            {"chat_id": 42, "message_id": 99, "text": "x"},
            "message to edit not found",
        ),
        ("deleteMessage", {"chat_id": 42, "message_id": 99}, "message to delete not found"),
        ("answerCallbackQuery", {"callback_query_id": "nope"}, "query is too old"),
    ],
)
async def test_requests_telegram_would_refuse(
    api: Call, method: str, body: dict[str, Any], description: str
) -> None:
    emulator = api[0]
    response = await call(api, method, **body)
    assert response.status_code in (400, 404)
    assert response.json()["ok"] is False
    assert description in response.json()["description"]
    assert len(emulator.violations) == 1
    assert emulator.violations[0].method == method


async def test_html_that_telegram_accepts(api: Call) -> None:
    text = (
        '<b>1</b> <i>2</i> <a href="https://x.y/?a=1&amp;b=2">3</a> '
        "<code>4 &lt; 5</code> &#128512; &quot;"
    )
    assert render_html(text) == '1 2 3 4 < 5 😀 "'
    with pytest.raises(BadRequest):
        render_html('<a href="x" onclick="y">z</a>')


async def test_editing_to_the_same_content_is_not_modified(api: Call) -> None:
    emulator = api[0]
    sent = (await call(api, "sendMessage", chat_id=42, text="one")).json()["result"]
    edited = await call(
        api, "editMessageText", chat_id=42, message_id=sent["message_id"], text="two"
    )
    assert edited.status_code == 200
    again = await call(
        api, "editMessageText", chat_id=42, message_id=sent["message_id"], text="two"
    )
    assert again.status_code == 400
    assert "message is not modified" in again.json()["description"]
    markup = await call(api, "editMessageReplyMarkup", chat_id=42, message_id=sent["message_id"])
    assert "message is not modified" in markup.json()["description"]
    assert len(emulator.violations) == 2


async def test_callback_answers_are_checked(api: Call) -> None:
    emulator = api[0]
    anna = emulator.users[42]
    message = (
        await call(
            api,
            "sendMessage",
            chat_id=42,
            text="pick",
            reply_markup=keyboard({"text": "Go", "callback_data": "go"}),
        )
    ).json()["result"]
    await anna.press("Go", wait=False)
    updates = (await call(api, "getUpdates", offset=0, timeout=0)).json()["result"]
    query = updates[-1]["callback_query"]
    assert query["data"] == "go"
    assert query["message"]["message_id"] == message["message_id"]
    assert query["from"]["language_code"] == "en"
    too_long = await call(api, "answerCallbackQuery", callback_query_id=query["id"], text="x" * 201)
    assert too_long.status_code == 400
    ok = await call(api, "answerCallbackQuery", callback_query_id=query["id"], text="done")
    assert ok.status_code == 200
    twice = await call(api, "answerCallbackQuery", callback_query_id=query["id"])
    assert twice.status_code == 400
    assert anna.callback_answers == ["done"]
    assert len(emulator.violations) == 2


async def test_long_polling_waits_and_confirms_by_offset(api: Call) -> None:
    emulator = api[0]
    empty = await call(api, "getUpdates", timeout=0)
    assert empty.json()["result"] == []
    await emulator.users[42].send("/start", wait=False)
    first = (await call(api, "getUpdates", timeout=1)).json()["result"]
    assert [u["message"]["text"] for u in first] == ["/start"]
    assert first[0]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    again = (await call(api, "getUpdates", timeout=0)).json()["result"]
    assert again == first  # not confirmed yet
    confirmed = (await call(api, "getUpdates", offset=first[0]["update_id"] + 1, timeout=0)).json()
    assert confirmed["result"] == []


async def test_per_chat_rate_limit_answers_429_with_retry_after(api: Call) -> None:
    statuses = []
    for index in range(5):
        response = await call(api, "sendMessage", chat_id=42, text=f"m{index}")
        statuses.append(response.status_code)
    assert statuses[:3] == [200, 200, 200]  # the burst
    assert 429 in statuses[3:]
    refused = await call(api, "sendMessage", chat_id=42, text="again")
    assert refused.json()["parameters"]["retry_after"] >= 1
    assert api[0].violations == []  # throttling is Telegram's answer, not the bot's mistake


async def test_a_blocked_user_answers_403(api: Call) -> None:
    emulator = api[0]
    emulator.users[42].block()
    response = await call(api, "sendMessage", chat_id=42, text="hello")
    assert response.status_code == 403
    assert "blocked" in response.json()["description"]
    assert emulator.violations == []


async def test_injected_failures(api: Call) -> None:
    emulator = api[0]
    emulator.fail_next("sendMessage", 500, count=1)
    emulator.fail_next("sendMessage", 429, count=1, retry_after=3)
    first = await call(api, "sendMessage", chat_id=42, text="a")
    second = await call(api, "sendMessage", chat_id=42, text="a")
    third = await call(api, "sendMessage", chat_id=42, text="a")
    assert [first.status_code, second.status_code, third.status_code] == [500, 429, 200]
    assert second.json()["parameters"] == {"retry_after": 3}


async def test_a_wrong_token_is_unauthorized(api: Call) -> None:
    _, http, base = api
    response = await http.post(base.replace("TEST", "FAKE") + "/getMe")
    assert response.status_code == 401


async def test_a_picture_is_taken_as_an_upload_and_checked(api: Call) -> None:
    emulator, http, base = api
    png = (
        b"\x89PNG\r\n\x1a\n"
        + b"\x00\x00\x00\rIHDR"
        + (720).to_bytes(4, "big")
        + (360).to_bytes(4, "big")
        + b"\x08\x02\x00\x00\x00"
    )
    fields = {"chat_id": "42", "photo": "attach://chart", "caption": "<b>Year</b>"}
    sent = await http.post(
        f"{base}/sendPhoto",
        data={**fields, "parse_mode": "HTML"},
        files={"chart": ("chart.png", png, "image/png")},
    )
    assert sent.status_code == 200, sent.text
    result = sent.json()["result"]
    assert result["caption"] == "Year"
    assert "text" not in result
    assert (result["photo"][0]["width"], result["photo"][0]["height"]) == (720, 360)
    [shown] = emulator.users[42].bot_messages
    assert (shown.text, shown.photo) == ("Year", png)

    not_a_picture = await http.post(
        f"{base}/sendPhoto", data=fields, files={"chart": ("x.png", b"hello", "image/png")}
    )
    assert not_a_picture.json()["description"] == "Bad Request: IMAGE_PROCESS_FAILED"
    nothing_attached = await http.post(f"{base}/sendPhoto", data=fields)
    assert "wrong file identifier" in nothing_attached.json()["description"]
    assert len(emulator.violations) == 2
    as_itself = await http.post(
        f"{base}/sendPhoto", data={"chat_id": "42"}, files={"photo": ("p.png", png, "image/png")}
    )
    assert as_itself.status_code == 200, as_itself.text
    edit = await call(api, "editMessageText", chat_id=42, message_id=result["message_id"], text="x")
    assert edit.json()["description"] == "Bad Request: there is no text in the message to edit"
