"""Money as a person reads it, end to end (real bot, Telegram emulator, sandbox panel, real
SQLite): unit prices on the category's buttons and the card, cheapest first, the
confirmation's exact total and the balance rounded down, in English and in Russian.

The Russian words here are this change's new messages: the test passes once they are in
bot/locales/ru.po."""

from __future__ import annotations

from decimal import Decimal

from tests.harness import BotHarness
from tests.helpers import names

NBSP = "\u00a0"


def nb(text: str) -> str:
    """`~` marks the no-break spaces Babel puts in numbers and money."""
    return text.replace("~", NBSP)


async def test_prices_in_english(harness: BotHarness) -> None:
    assert harness.account is not None
    harness.account.balance = Decimal("2638.3745")
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    for label in ("🛒 New order", "Instagram", "Likes"):
        await anna.press(label)
    labels = anna.last_message.button_labels
    assert nb("Instagram Likes · RUB~0.50/1K") in labels
    assert nb("Instagram Likes · real accoun… · RUB~45.00/1K") in labels
    catalog_order = names(labels)
    await anna.press("💰 Cheapest first")
    cheapest = anna.last_message.button_labels
    assert names(cheapest)[1:4] == [
        "Instagram Likes",
        "Instagram Likes · instant sta…",
        "Instagram Likes · real accoun…",
    ]
    await anna.press("↩️ Catalog order")
    assert names(anna.last_message.button_labels) == catalog_order
    await anna.press(nb("Instagram Likes · RUB~0.50/1K"))
    assert nb("💵 RUB~0.50 per 1,000\n📏 Quantity: 50 – 10,000") in anna.last_message.text
    await anna.press("🛒 Order this")
    await anna.send("https://instagram.com/p/x")
    await anna.send("2500")
    assert nb("💵 Total: RUB~1.25 · balance after: RUB~2,637.12") in anna.last_message.text
    await anna.press("✖️ Cancel")
    await anna.send("/start")
    await anna.press("💰 Balance")
    assert nb("💰 Balance: RUB~2,638.37") in anna.last_message.text


async def test_prices_in_russian(harness: BotHarness) -> None:
    assert harness.account is not None
    harness.account.balance = Decimal("4900")
    ivan = harness.user(502, "Иван", "ru")
    await ivan.send("/start")
    for label in ("🛒 Новый заказ", "Instagram", "Likes"):
        await ivan.press(label)
    assert nb("Instagram Likes · 0,50~₽/тыс.") in ivan.last_message.button_labels
    await ivan.press("💰 Сначала дешёвые")
    assert "↩️ Как в каталоге" in ivan.last_message.button_labels
    await ivan.press(nb("Instagram Likes · 0,50~₽/тыс."))
    assert nb("💵 0,50~₽ за 1~000\n📏 Количество: 50 – 10~000") in ivan.last_message.text
    await ivan.press("🛒 Заказать")
    await ivan.send("https://instagram.com/p/x")
    await ivan.send("10000")
    assert nb("💵 Итого: 5,00~₽ · останется: 4~895,00~₽") in ivan.last_message.text
    await ivan.press("✖️ Отмена")
    await ivan.send("/start")
    await ivan.press("💰 Баланс")
    assert nb("💰 Баланс: 4~900,00~₽") in ivan.last_message.text
