"""Wrong values and pasted links in the order wizard, end to end: the Telegram emulator, the
sandbox panel and the real bot, in English and in Russian.

A refused value is said once, in one line heading the prompt, and the chat does not grow: the
wrong message and the prompt it answered are deleted, the prompt comes again at the bottom. A
link is taken as people paste it and sent as the service's rule wants it.

The Russian tests read the reasons from the Russian catalog: exact once it translates them,
English words until then."""

from __future__ import annotations

import pytest

from bot.sandbox.telegram import SimulatedUser
from tests.flows import start_in_russian, start_order
from tests.harness import BotHarness
from tests.helpers import Russian, russian, send_without_text, typed, with_buttons

LINK_PROMPT = (
    "Step 1 of 2 · Link\nSend the link, e.g. https://www.instagram.com/p/…\nInstagram Likes"
)
# The amount's prompt lists the link given above it.
AMOUNT_PROMPT = "Step 2 of 2 · Quantity\nSend a whole number from 50 to 10,000.\nInstagram Likes"
AMOUNT_PROMPT_RU = (
    "Шаг 2 из 2 · Количество\nПришлите целое число от 50 до 10\u00a0000.\nInstagram Likes"
)
AMOUNT_BUTTONS = ["50", "100", "500", "1,000", "5,000", "⬅️ Back", "✖️ Cancel"]
AMOUNT_BUTTONS_RU = ["50", "100", "500", "1\u00a0000", "5\u00a0000", "⬅️ Назад", "✖️ Отмена"]


def given(link: str, *, label: str = "Link") -> str:
    return f"✓ {label}: {link}\n"


@pytest.fixture(scope="module")
def ru() -> Russian:
    return russian()


async def send_a_place(harness: BotHarness, user: SimulatedUser) -> None:
    """The person shares a location, where a typed value is asked for."""
    place = {"latitude": 55.75, "longitude": 37.62}
    await send_without_text(harness.emulator, user, "📍", location=place)


# -- a wrong value: why, in one line, once -------------------------------------------------


async def test_a_wrong_amount_is_said_once_in_one_line(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna)
    await anna.send("https://instagram.com/p/x")
    prompt = given("https://instagram.com/p/x") + AMOUNT_PROMPT
    assert anna.last_message.text == prompt
    chat = len(anna.messages)
    for wrong, reason in (
        ("a lot", "That's not a number."),
        ("10", "10 is below the minimum of 50."),
        ("100000", "100,000 is above the maximum of 10,000."),
        ("12.5", "12.5 isn't a whole number."),
        ("1k", "Please send digits only."),
    ):
        await anna.send(wrong)
        assert anna.last_message.text == f"⚠️ {reason}\n{prompt}"
        # The wrong answer and the prompt it answered are gone; the prompt is asked again.
        assert len(anna.messages) == chat, anna.transcript
        assert wrong not in typed(anna)
        assert with_buttons(anna) == [anna.last_message]
        assert anna.last_message.button_labels == AMOUNT_BUTTONS
    await anna.send("10 000")
    assert "Please check your order" in anna.last_message.text
    await anna.press("✅ Confirm")
    assert harness.panel.requests[-1].fields["count"] == "10000"


async def test_a_wrong_link_is_said_once_in_one_line(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna)
    assert anna.last_message.text == LINK_PROMPT
    chat = len(anna.messages)
    for wrong, reason in (
        ("my post", "That's not a link to instagram.com."),
        ("https://www.tiktok.com/@anna/video/1", "That's not a link to instagram.com."),
        ("https://www.instagram.com/reel/abc", "That link doesn't contain /p/."),
        ("@anna", "That's not a link to instagram.com."),
    ):
        await anna.send(wrong)
        assert anna.last_message.text == f"⚠️ {reason}\n{LINK_PROMPT}"
        assert len(anna.messages) == chat, anna.transcript
        assert wrong not in typed(anna)
        assert with_buttons(anna) == [anna.last_message]
    await anna.send("https://www.instagram.com/p/abc")
    assert anna.last_message.text == given("https://www.instagram.com/p/abc") + AMOUNT_PROMPT


async def test_something_not_text_is_said_once_in_one_line(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna)
    chat = len(anna.messages)
    for _ in range(2):
        await send_a_place(harness, anna)
        assert anna.last_message.text == f"⚠️ I can only read text here.\n{LINK_PROMPT}"
        assert len(anna.messages) == chat, anna.transcript
    await anna.send("https://www.instagram.com/p/abc")
    assert anna.last_message.text == given("https://www.instagram.com/p/abc") + AMOUNT_PROMPT


async def test_in_russian_a_wrong_amount_is_said_once_in_one_line(
    harness: BotHarness, ru: Russian
) -> None:
    ivan = harness.user(502, "Иван", "ru")
    await start_in_russian(ivan)
    await ivan.send("https://instagram.com/p/x")
    prompt = given("https://instagram.com/p/x", label="Ссылка") + AMOUNT_PROMPT_RU
    assert ivan.last_message.text == prompt
    chat = len(ivan.messages)
    for wrong, reason in (
        ("много", ru("That's not a number.")),
        ("10", ru("{value} is below the minimum of {low}.", value="10", low="50")),
        (
            "100000",
            ru(
                "{value} is above the maximum of {high}.",
                value="100\u00a0000",
                high="10\u00a0000",
            ),
        ),
        ("1,5", ru("{value} isn't a whole number.", value="1,5")),
        ("1к", ru("Please send digits only.")),
    ):
        await ivan.send(wrong)
        assert ivan.last_message.text == f"⚠️ {reason}\n{prompt}"
        assert len(ivan.messages) == chat, ivan.transcript
        assert wrong not in typed(ivan)
        assert ivan.last_message.button_labels == AMOUNT_BUTTONS_RU
    await ivan.send("250")
    assert "Проверьте заказ" in ivan.last_message.text


async def test_in_russian_a_wrong_link_is_said_once_in_one_line(
    harness: BotHarness, ru: Russian
) -> None:
    ivan = harness.user(502, "Иван", "ru")
    await start_in_russian(ivan)
    example = ru("Send the link, e.g. {example}", example="https://www.instagram.com/p/…")
    prompt = f"Шаг 1 из 2 · Ссылка\n{example}\nInstagram Likes"
    assert ivan.last_message.text == prompt
    chat = len(ivan.messages)
    for wrong, reason in (
        ("мой пост", ru("That's not a link to {sites}.", sites="instagram.com")),
        (
            "https://www.instagram.com/reel/abc",
            ru("That link doesn't contain {parts}.", parts="/p/"),
        ),
    ):
        await ivan.send(wrong)
        assert ivan.last_message.text == f"⚠️ {reason}\n{prompt}"
        assert len(ivan.messages) == chat, ivan.transcript
        assert wrong not in typed(ivan)
    await send_a_place(harness, ivan)
    assert ivan.last_message.text == f"⚠️ {ru('I can only read text here.')}\n{prompt}"
    await ivan.send("https://www.instagram.com/p/abc")
    link = given("https://www.instagram.com/p/abc", label="Ссылка")
    assert ivan.last_message.text == link + AMOUNT_PROMPT_RU


async def test_a_message_telegram_wont_delete_stays_and_the_order_goes_on(
    harness: BotHarness,
) -> None:
    anna = harness.user(501, "Anna")
    await start_order(anna)
    await anna.send("https://instagram.com/p/x")
    asked = anna.last_message
    harness.emulator.fail_next(
        "deleteMessage", 400, count=2, description="Bad Request: message can't be deleted"
    )
    await anna.send("10")
    prompt = given("https://instagram.com/p/x") + AMOUNT_PROMPT
    assert anna.last_message.text == f"⚠️ 10 is below the minimum of 50.\n{prompt}"
    assert typed(anna)[-1] == "10"  # still there: tidying only
    assert not asked.deleted
    assert asked.button_labels == []  # the prompt it answered, without its buttons
    assert with_buttons(anna) == [anna.last_message]
    await anna.send("250")
    await anna.press("✅ Confirm")
    assert "placed" in anna.last_message.text


async def test_one_plain_order_with_a_wrong_link_and_amount_leaves_what_a_right_one_does(
    harness: BotHarness,
) -> None:
    right, wrong = harness.user(501, "Anna"), harness.user(601, "Boris")
    await start_order(right)
    await right.send("https://www.instagram.com/p/abc")
    await right.send("250")
    await right.press("✅ Confirm")

    await start_order(wrong)
    await wrong.send("my post")
    await wrong.send("https://www.instagram.com/p/abc")
    await wrong.send("10")
    await wrong.send("250")
    await wrong.press("✅ Confirm")

    for user in (right, wrong):
        # One message: the confirmation, now the order's card.
        assert [m.text.split("\n")[0] for m in user.bot_messages] == [
            f"📦 Order #{7000000 if user is right else 7000001}",
        ]
        assert typed(user) == ["/start", "https://www.instagram.com/p/abc", "250"]


# -- links as people paste them --------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "example", "pasted", "sent"),
    [
        (
            ("Instagram", "Likes", "Instagram Likes", "Link"),
            "https://www.instagram.com/p/…",
            "instagram.com/p/abc/?igsh=MXRk&utm_source=ig_web_copy_link  ",
            "https://instagram.com/p/abc/",
        ),
        (
            ("Telegram", "Subscribers", "Telegram Channel Subscribers", "Link"),
            "https://t.me/…",
            "@durov",
            "https://t.me/durov",
        ),
        (
            ("Telegram", "Views", "Telegram Post Views", "Link"),
            "https://t.me/…",
            "@durov/15",
            "https://t.me/durov/15",
        ),
        (
            ("YouTube", "Views", "YouTube Views", "Link"),
            "https://www.youtube.com/watch?v=…",
            "m.youtube.com/watch?v=dQw4w9WgXcQ&feature=share&si=Xy",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        ),
        (
            ("TikTok", "Views", "TikTok Views", "Link"),
            "https://www.tiktok.com/@…/video/…",
            "Look! https://www.tiktok.com/@anna/video/7?is_from_webapp=1&sender_device=pc.",
            "https://www.tiktok.com/@anna/video/7",
        ),
    ],
)
async def test_a_link_is_taken_as_people_paste_it(
    harness: BotHarness, service: tuple[str, str, str, str], example: str, pasted: str, sent: str
) -> None:
    *path, label = service
    anna = harness.user(501, "Anna")
    await start_order(anna, *path)
    assert f"Step 1 of 2 · {label}\nSend the link, e.g. {example}\n" in anna.last_message.text
    await anna.send(pasted)
    await anna.send("500")
    assert f"🔗 {label}: {sent}\n" in anna.last_message.text
    await anna.press("✅ Confirm")
    assert "placed" in anna.last_message.text
    assert harness.panel.requests[-1].fields["url"] == sent


async def test_in_russian_a_link_is_taken_as_people_paste_it(
    harness: BotHarness, ru: Russian
) -> None:
    ivan = harness.user(502, "Иван", "ru")
    await start_in_russian(ivan, "Telegram", "Subscribers", "Telegram Channel Subscribers")
    example = ru("Send the link, e.g. {example}", example="https://t.me/…")
    assert ivan.last_message.text.startswith(f"Шаг 1 из 2 · Ссылка\n{example}\n")
    await ivan.send("https://instagram.com/durov")
    reason = ru("That's not a link to {sites}.", sites="t.me")
    assert ivan.last_message.text.startswith(f"⚠️ {reason}\nШаг 1 из 2 · Ссылка\n")
    await ivan.send(" @durov ")
    await ivan.send("1000")
    assert "🔗 Ссылка: https://t.me/durov\n" in ivan.last_message.text
    await ivan.press("✅ Подтвердить")
    assert harness.panel.requests[-1].fields["url"] == "https://t.me/durov"
