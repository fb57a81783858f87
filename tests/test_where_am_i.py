"""Where am I, what's next: text typed at the confirmation, a shared link to a service, and the
balance over the main menu. End to end: the Telegram emulator, the sandbox panel over HTTP and
the real bot on SQLite, in English and in Russian.

The Russian tests read new texts from the Russian catalog: exact once it translates them,
English words until then. Money is never asserted to the character: its format is not theirs."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.catalog import service_key
from bot.sandbox.catalog import builtin_catalog
from bot.sandbox.telegram import ChatMessage, SimulatedUser
from handlers.callbacks import ServiceCard
from handlers.screens import service_payload
from tests.flows import order_from_card
from tests.harness import BotHarness
from tests.helpers import Russian, russian, send_without_text, typed, with_buttons

INSTAGRAM_LIKES = "389"  # the sandbox's "Instagram Likes": a link and an amount
REMINDER = "⚠️ Tap ✅ Confirm below or /cancel."
NO_SUCH_SERVICE = "🔗 That link leads to no service I offer now. Search or browse the catalog:"
MENU = [
    "🛒 New order",
    "📦 My orders",
    "🔍 Search",
    "💰 Balance",
    "⭐ Favourites",
    "⚙️ Settings",
    "❓ Help",
]
MENU_RU = [
    "🛒 Новый заказ",
    "📦 Мои заказы",
    "🔍 Поиск",
    "💰 Баланс",
    "⭐ Избранное",
    "⚙️ Настройки",
    "❓ Помощь",
]


@pytest.fixture(scope="module")
def ru() -> Russian:
    return russian()


def balance_prefix(translate: Russian | None = None) -> str:
    """The balance line up to its amount, whatever the money looks like."""
    msgid = "💰 Balance: {amount}"
    said = translate(msgid, amount="\0") if translate else msgid.replace("{amount}", "\0")
    return said.split("\0")[0]


async def send_a_sticker(harness: BotHarness, user: SimulatedUser) -> None:
    sticker = {
        "file_id": "s1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    await send_without_text(harness.emulator, user, "🙂", sticker=sticker)


async def up_to_confirmation(user: SimulatedUser, *, russian: bool = False) -> None:
    """/start, the catalog down to Instagram Likes (its button found by its data: the labels
    carry prices), its card, a link and an amount: the confirmation."""
    await user.send("/start")
    for label in ("🛒 Новый заказ" if russian else "🛒 New order", "Instagram", "Likes"):
        await user.press(label)
    await user.press_data(ServiceCard(service=service_key(INSTAGRAM_LIKES)).pack())
    await user.press("🛒 Заказать" if russian else "🛒 Order this")
    await user.send("https://instagram.com/p/x")
    await user.send("1000")
    assert ("Проверьте заказ" if russian else "Please check your order") in user.last_message.text


async def up_to_confirmation_in_russian(user: SimulatedUser) -> None:
    await up_to_confirmation(user, russian=True)


# -- (a) text at the confirmation ------------------------------------------------------------


async def test_text_at_the_confirmation_brings_it_back_below_with_one_line(
    harness: BotHarness,
) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna)
    confirmation = anna.last_message.text
    chat = len(anna.messages)
    balances = harness.panel_calls("balance")
    for stray in ("yes", "ok go", "👍"):
        await anna.send(stray)
        assert anna.last_message.text == f"{REMINDER}\n\n{confirmation}", anna.transcript
        # The stray message and the confirmation it followed are gone: the chat does not grow.
        assert len(anna.messages) == chat, anna.transcript
        assert stray not in typed(anna)
        assert with_buttons(anna) == [anna.last_message]
        assert anna.last_message.button_labels == ["✅ Confirm", "✏️ Change", "✖️ Cancel"]
    await send_a_sticker(harness, anna)
    assert anna.last_message.text == f"{REMINDER}\n\n{confirmation}"
    assert len(anna.messages) == chat, anna.transcript
    assert harness.panel_calls("balance") == balances  # the balance just shown, not asked again
    assert harness.panel_calls("add") == 0
    await anna.press("✅ Confirm")
    assert "placed" in anna.last_message.text
    assert harness.panel_calls("add") == 1


async def test_cancel_still_works_at_the_confirmation_and_changing_a_value_is_untouched(
    harness: BotHarness,
) -> None:
    anna = harness.user(501, "Anna")
    await up_to_confirmation(anna)
    await anna.send("hm")
    await anna.press("✏️ Change")
    await anna.press("✏️ Quantity")
    await anna.send("500")  # a value again, not a stray: the prompt takes it
    assert anna.last_message.text.startswith("Please check your order")
    await anna.send("/cancel")
    assert anna.last_message.text.startswith("Cancelled. Nothing was ordered.\n")
    assert anna.last_message.button_labels == MENU
    assert harness.panel_calls("add") == 0


async def test_in_russian_text_at_the_confirmation_brings_it_back_below(
    harness: BotHarness, ru: Russian
) -> None:
    ivan = harness.user(502, "Иван", "ru")
    await up_to_confirmation_in_russian(ivan)
    confirmation = ivan.last_message.text
    chat = len(ivan.messages)
    reminder = "⚠️ " + ru("Tap ✅ Confirm below or /cancel.")
    for stray in ("да", "ок"):
        await ivan.send(stray)
        assert ivan.last_message.text == f"{reminder}\n\n{confirmation}", ivan.transcript
        assert len(ivan.messages) == chat, ivan.transcript
        assert stray not in typed(ivan)
        assert with_buttons(ivan) == [ivan.last_message]
    await ivan.press("✅ Подтвердить")
    assert harness.panel_calls("add") == 1


# -- (b) a shared link to a service ----------------------------------------------------------


async def test_a_shared_link_opens_the_service_card_and_orders_from_it(
    harness: BotHarness,
) -> None:
    anna = harness.user(501, "Anna")
    payload = service_payload(INSTAGRAM_LIKES)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", payload)  # what Telegram allows
    await anna.send(f"/start {payload}")
    card = anna.last_message
    assert card.text.startswith("Instagram Likes\n"), anna.transcript
    assert card.button_labels == [
        "🛒 Order this",
        "📋 Several links",
        "☆ Add to favourites",
        "📤 Share",
        "⬅️ Back",
        "✖️ Cancel",
    ]
    # Share opens Telegram's share page for the link that opened this card.
    share = card.find_button("📤 Share")
    assert share is not None
    assert share.url is not None
    shared = parse_qs(urlsplit(share.url).query)
    assert shared["url"] == [f"https://t.me/smmlaba_test_bot?start={payload}"]
    assert shared["text"] == ["Instagram Likes"]
    await order_from_card(anna)
    assert "placed" in anna.last_message.text
    assert harness.panel.requests[-1].fields["service"] == INSTAGRAM_LIKES


async def test_a_stale_or_made_up_link_says_so_over_the_main_menu(harness: BotHarness) -> None:
    anna = harness.user(501, "Anna")
    real = service_payload(INSTAGRAM_LIKES)
    for payload in ("s_0123456789abcdef", "hello", f"{real}x", real.upper(), "s_"):
        await anna.send(f"/start {payload}")
        assert anna.last_message.text == NO_SUCH_SERVICE, payload
        assert anna.last_message.button_labels == MENU
    await anna.send("/start")  # plain /start is the greeting, as ever
    assert anna.last_message.text.startswith("👋 Hi, Anna!")


async def test_in_russian_a_shared_link_opens_the_card_and_a_stale_one_says_so(
    harness: BotHarness, ru: Russian
) -> None:
    ivan = harness.user(502, "Иван", "ru")
    await ivan.send(f"/start {service_payload(INSTAGRAM_LIKES)}")
    assert ivan.last_message.text.startswith("Instagram Likes\n"), ivan.transcript
    assert ivan.last_message.button_labels == [
        "🛒 Заказать",
        "📋 Несколько ссылок",
        "☆ В избранное",
        "📤 Поделиться",
        "⬅️ Назад",
        "✖️ Отмена",
    ]
    await ivan.send("/start s_0123456789abcdef")
    assert ivan.last_message.text == ru(NO_SUCH_SERVICE)
    assert ivan.last_message.button_labels == MENU_RU


# -- (c) the balance over the main menu ------------------------------------------------------


def balance_lines(message: ChatMessage, prefix: str) -> list[str]:
    return [line for line in message.text.split("\n") if line.startswith(prefix)]


async def test_the_main_menu_shows_the_balance_once_known_and_never_asks_for_it(
    harness: BotHarness,
) -> None:
    anna = harness.user(501, "Anna")
    prefix = balance_prefix()
    await anna.send("/start")
    assert balance_lines(anna.last_message, prefix) == []  # not known yet: not asked for it
    assert harness.panel_calls("balance") == 0

    await up_to_confirmation(anna)  # the confirmation asks the panel
    balances = harness.panel_calls("balance")
    shown = balance_lines(anna.last_message, "💵 Total:")
    assert shown, anna.last_message.text
    await anna.send("/cancel")
    menu = anna.last_message
    assert menu.text.startswith("Cancelled. Nothing was ordered.\n" + prefix), menu.text
    assert menu.text.endswith("\nWhat would you like to do?")
    assert len(balance_lines(menu, prefix)) == 1
    await anna.send("/start")
    assert len(balance_lines(anna.last_message, prefix)) == 1
    await anna.press("❓ Help")
    await anna.send("/help")
    await anna.press("🛒 New order")
    await anna.press("⬅️ Back")  # the platforms' Back is the main menu
    assert anna.last_message.text.startswith(prefix), anna.last_message.text
    assert harness.panel_calls("balance") == balances  # the menus drew it from what was known

    # An order placed changes the balance: the menu no longer shows the old one.
    await up_to_confirmation(anna)
    await anna.press("✅ Confirm")
    balances = harness.panel_calls("balance")
    await anna.send("/start")
    assert balance_lines(anna.last_message, prefix) == []
    assert harness.panel_calls("balance") == balances


async def test_in_russian_the_main_menu_shows_the_balance_once_known(
    harness: BotHarness, ru: Russian
) -> None:
    ivan = harness.user(502, "Иван", "ru")
    prefix = balance_prefix(ru)
    await ivan.send("/start")
    assert balance_lines(ivan.last_message, prefix) == []
    await up_to_confirmation_in_russian(ivan)
    balances = harness.panel_calls("balance")
    await ivan.send("/cancel")
    menu = ivan.last_message
    assert menu.text.startswith(ru("Cancelled. Nothing was ordered.") + "\n" + prefix)
    assert menu.text.endswith("\n" + ru("What would you like to do?"))
    await ivan.send("/start")
    assert len(balance_lines(ivan.last_message, prefix)) == 1
    assert harness.panel_calls("balance") == balances


# -- the card and the menu ---------------------------------------------------------------------


def first_service_named(ending: str) -> str:
    """The id of a sandbox service whose name ends with `ending`."""
    return next(
        str(s["service"]) for s in builtin_catalog() if str(s["product_name"]).endswith(ending)
    )


async def test_the_card_marks_optional_fields_and_says_what_the_name_says(
    harness: BotHarness,
) -> None:
    anna = harness.user(501, "Anna")
    await anna.send(f"/start {service_payload('434')}")  # VK Likes · targeted
    card = anna.last_message.text
    assert "Link, Quantity, Gender (optional), Note for the manager (optional)." in card
    fast = first_service_named(" | Fast start")
    await anna.send(f"/start {service_payload(fast)}")
    assert "ℹ️ Fast start" in anna.last_message.text
    ivan = harness.user(502, "Иван", language_code="ru")
    await ivan.send(f"/start {service_payload('434')}")
    assert "Ссылка, Количество, Gender (необязательно)" in ivan.last_message.text
    guaranteed = first_service_named(" | Гарантия 60 дней")
    await ivan.send(f"/start {service_payload(guaranteed)}")
    notes = "ℹ️ Старт 0-15 минут · Скорость до 50 000 в сутки · Гарантия 60 дней"
    assert notes in ivan.last_message.text


async def test_settings_are_a_tap_away_from_the_main_menu(harness: BotHarness) -> None:
    for person, settings, language, menu_word in (
        (harness.user(501, "Anna"), "⚙️ Settings", "🌐 Language", "Notifications"),
        (harness.user(502, "Иван", language_code="ru"), "⚙️ Настройки", "🌐 Язык", "Уведомления"),
    ):
        await person.send("/start")
        menu = person.last_message
        await person.press(settings)
        assert menu_word in menu.text  # in place of the menu
        await person.press(language)
        assert "🌐" in menu.text
        assert menu.button_labels[:2] == ["English", "Русский"]
        assert len(person.bot_messages) == 1
