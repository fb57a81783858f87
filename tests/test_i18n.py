"""Both languages are complete, and a Russian speaker sees Russian through a whole order."""

from __future__ import annotations

import string

import pytest
from babel.messages.pofile import read_po

from bot.i18n import LOCALES, build_i18n
from scripts.update_locales import LANGUAGES, extract
from tests.harness import BotHarness
from tests.helpers import press_service


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language: str) -> None:
    template = extract()
    with (LOCALES / f"{language}.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    missing = [m.id for m in template if m.id and not (catalog.get(m.id) and catalog[m.id].string)]
    assert missing == [], "run scripts/update_locales.py and translate these"
    for message in template:
        if message.id:
            translated = catalog[message.id].string
            assert isinstance(translated, str)
            assert fields(translated) == fields(str(message.id)), message.id


def test_catalogs_load_without_a_build_step() -> None:
    i18n = build_i18n()
    assert "ru" in i18n.available_locales
    assert i18n.gettext("🛒 New order", locale="ru") == "🛒 Новый заказ"
    assert i18n.gettext("🛒 New order", locale="en") == "🛒 New order"


async def test_a_russian_speaker_orders_in_russian(harness: BotHarness) -> None:
    anna = harness.user(501, "Анна", language_code="ru")
    await anna.send("/start")
    assert anna.last_message.text.startswith("👋 Привет, Анна!")
    await anna.press("🛒 Новый заказ")
    assert "Выберите площадку" in anna.last_message.text
    await anna.press("Instagram")
    await anna.press("Likes")
    await press_service(anna, "Instagram Likes")
    assert "Нужно будет указать: Ссылка, Количество." in anna.last_message.text
    await anna.press("🛒 Заказать")
    assert "Шаг 1 из 2" in anna.last_message.text
    await anna.send("не ссылка")
    assert anna.last_message.text.startswith("⚠️ Это не ссылка на instagram.com.\nШаг 1 из 2")
    await anna.send("https://instagram.com/p/x")
    await anna.send("7")
    assert anna.last_message.text.startswith("⚠️ 7 — меньше минимума (50).\n✓ Ссылка: ")
    assert "\nШаг 2 из 2 · Количество\n" in anna.last_message.text
    await anna.send("250")
    assert "Проверьте заказ" in anna.last_message.text
    assert "Итого: 0,125\u00a0₽" in anna.last_message.text
    assert anna.last_message.button_labels == ["✅ Подтвердить", "✏️ Изменить", "✖️ Отмена"]
    await anna.press("✅ Подтвердить")
    assert "📦 Заказ #7000000" in anna.last_message.text
    assert "Состояние: оформлен" in anna.last_message.text
    russian = {c["command"]: c["description"] for c in harness.emulator.commands[("default", "ru")]}
    assert russian["start"] == "Главное меню"


async def test_an_empty_chat_is_described_in_each_language(harness: BotHarness) -> None:
    emulator = harness.emulator
    assert emulator.descriptions[""].startswith("I'm the SMMLaba panel in Telegram:")
    assert emulator.short_descriptions[""] == (
        "SMMLaba in Telegram: order in a few taps, hear when it's done."
    )
    assert emulator.descriptions["ru"].startswith("Я — панель SMMLaba в Telegram:")
    assert emulator.short_descriptions["ru"] == (
        "SMMLaba в Telegram: заказ в пару нажатий и сообщение, когда он выполнен."
    )


async def test_language_can_be_chosen(harness: BotHarness) -> None:
    bob = harness.user(502, "Bob", language_code="en")
    await bob.send("/language")
    await bob.press("Русский")
    assert bob.last_message.text.startswith("🌐 Готово.")
    await bob.send("/start")
    assert bob.last_message.text.startswith("👋 Привет, Bob!")
    await harness.restart()  # the choice is stored, not just remembered
    await bob.send("/help")
    assert "главное меню" in bob.last_message.text
    await bob.send("/language")
    await bob.press("🌐 Как в Telegram")
    await bob.send("/start")
    assert bob.last_message.text.startswith("👋 Hi, Bob!")
