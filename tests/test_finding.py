"""Finding things, end to end (the Telegram emulator, the sandbox panel over HTTP, the real bot
on a SQLite file), in English and in Russian: mistyped words, a service's id, a link, nothing
found, text typed at the main menu, Back from a found service, and a category of one service.
Every request the bot makes is checked against the Bot API (callback data within 64 bytes).
The index itself: tests/test_search.py."""

from __future__ import annotations

from bot.sandbox.telegram import SimulatedUser
from tests.flows import start_order
from tests.harness import BotHarness
from tests.helpers import names, press_service


def anna(harness: BotHarness) -> SimulatedUser:
    return harness.user(501, "Anna")


def ivan(harness: BotHarness) -> SimulatedUser:
    return harness.user(502, "Иван", "ru")


# -- mistyped words ----------------------------------------------------------------------


async def test_a_mistyped_search_finds_what_was_meant(harness: BotHarness) -> None:
    english = anna(harness)
    await english.send("/search instagarm likse")
    assert english.last_message.text.startswith(
        "🔍 Results for «instagarm likse»:\n"
        "✏️ Nothing matched exactly: these are the closest spellings."
    )
    assert names(english.last_message.button_labels)[0] == "Instagram Likes"

    russian = ivan(harness)
    await russian.send("/search подпищики ютуб")
    assert russian.last_message.text.startswith(
        "🔍 Найдено по запросу «подпищики ютуб»:\n"
        "✏️ Точных совпадений нет: вот самые похожие варианты."
    )
    assert names(russian.last_message.button_labels)[0] == "YouTube Subscribers"


async def test_words_found_as_typed_say_nothing_about_spellings(harness: BotHarness) -> None:
    english = anna(harness)
    await english.send("/search instagram likes")
    assert "closest spellings" not in english.last_message.text
    assert names(english.last_message.button_labels)[0] == "Instagram Likes"


# -- text typed at the main menu -----------------------------------------------------------


async def test_text_typed_at_the_main_menu_is_a_search(harness: BotHarness) -> None:
    english = anna(harness)
    await english.send("/start")
    await english.send("tiktok views")
    assert english.last_message.text.startswith("🔍 Results for «tiktok views»:")
    assert names(english.last_message.button_labels)[0] == "TikTok Views"

    russian = ivan(harness)
    await russian.send("/start")
    await russian.send("лайки инстаграм")
    assert russian.last_message.text.startswith("🔍 Найдено по запросу «лайки инстаграм»:")
    assert names(russian.last_message.button_labels)[0] == "Instagram Likes"


async def test_text_inside_a_conversation_is_not_a_search(harness: BotHarness) -> None:
    english = anna(harness)
    await start_order(english)
    await english.send("instagram likes")  # the order's link, refused as one
    assert "Step 1 of 2" in english.last_message.text
    await english.send("/cancel")
    await english.send("instagram likes")  # the order is gone: now it is a search
    assert english.last_message.text.startswith("🔍 Results for «instagram likes»:")


async def test_text_from_someone_without_an_account_asks_them_to_link_one(
    personal: BotHarness,
) -> None:
    bob = personal.user(801, "Bob")
    await bob.send("instagram likes")
    assert bob.last_message.text == (
        "First link your SMMLaba account: send /connect. It takes a minute."
    )


# -- a link --------------------------------------------------------------------------------


async def test_a_link_offers_the_services_for_its_site(harness: BotHarness) -> None:
    english = anna(harness)
    await english.send("/start")
    await english.send("https://www.instagram.com/p/Cx1?igsh=a")
    offer = english.last_message
    assert offer.text == "🔗 Services for instagram.com\nChoose a category:"
    assert "Likes (3)" in offer.button_labels
    await english.press("Likes (3)")
    assert english.last_message.text == "🛒 Instagram › Likes\nChoose a service:"

    await english.send("vk.com/wall-1_2")  # no scheme; two platforms' services take it
    offer = english.last_message
    assert offer.text == "🔗 Services for vk.com\nChoose a platform:"
    assert [label.split(" (")[0] for label in offer.button_labels] == ["VK", "ВКонтакте", "🏠 Menu"]
    await english.press("ВКонтакте")
    assert english.last_message.text == "🛒 New order › ВКонтакте\nChoose a category:"

    await english.send("https://example.com/shop")
    assert english.last_message.text == (
        "🔗 I have no services for example.com. Try a few words, or browse the catalog."
    )
    await english.press("🛒 Browse the catalog")
    assert english.last_message.text == "🛒 New order\nChoose a platform:"

    russian = ivan(harness)
    await russian.send("https://t.me/durov")
    assert russian.last_message.text == "🔗 Услуги для t.me\nВыберите категорию:"
    await russian.send("https://example.com")
    assert russian.last_message.text == (
        "🔗 Для example.com услуг нет. Попробуйте поискать по словам или загляните в каталог."
    )
    assert russian.last_message.button_labels[0] == "🛒 Открыть каталог"


# -- a service's id ------------------------------------------------------------------------


async def test_a_service_id_finds_its_service(harness: BotHarness) -> None:
    english = anna(harness)
    await english.send("389")
    assert names(english.last_message.button_labels)[:-2] == ["Instagram Likes"]
    await press_service(english, "Instagram Likes")
    assert english.last_message.text.startswith("Instagram Likes\n💵 RUB\u00a00.50 per 1,000")
    # Opaque ids, byte for byte: a trailing space, and a Cyrillic "у" among Latin letters.
    await english.send("fbpagelikeindia ")
    assert names(english.last_message.button_labels)[0] == "FaceBook - Лайки на страницу (Индия)"
    await english.send("fbpagelikeindia")  # Telegram may have trimmed the space
    assert names(english.last_message.button_labels)[0] == "FaceBook - Лайки на страницу (Индия)"
    await english.send("/search youtubelik\u0443germany")
    assert names(english.last_message.button_labels)[0] == "Youtube - Лайки из Германии"

    russian = ivan(harness)
    await russian.send("ytsubs")
    assert russian.last_message.text.startswith("🔍 Найдено по запросу «ytsubs»:")
    assert names(russian.last_message.button_labels)[0] == "YouTube Subscribers"


# -- nothing found -------------------------------------------------------------------------


async def test_nothing_found_offers_the_catalog(harness: BotHarness) -> None:
    english = anna(harness)
    await english.send("/search zzz qqq")
    results = english.last_message
    assert results.text == "Nothing found for «zzz qqq». Try other words, or browse the catalog."
    assert results.button_labels == ["🛒 Browse the catalog", "🔍 Search again", "🏠 Menu"]
    await english.press("🛒 Browse the catalog")
    assert results.text == "🛒 New order\nChoose a platform:"  # the same message, edited

    russian = ivan(harness)
    await russian.send("ззз ккк")
    assert russian.last_message.text == (
        "По запросу «ззз ккк» ничего не нашлось. Попробуйте другие слова или загляните в каталог."
    )
    await russian.press("🛒 Открыть каталог")
    assert russian.last_message.text == "🛒 Новый заказ\nВыберите площадку:"


# -- Back from a found service -------------------------------------------------------------


async def test_back_from_a_found_service_returns_to_the_results(harness: BotHarness) -> None:
    english = anna(harness)
    await english.send("/search instagram likes")
    results = english.last_message
    shown = results.text, results.button_labels
    await press_service(english, "Instagram Likes · real accounts")
    assert results.text.startswith("Instagram Likes · real accounts\n")  # the card, in place
    assert results.button_labels == [
        "🛒 Order this",
        "📋 Several links",
        "☆ Add to favourites",
        "📤 Share",
        "⬅️ Back",
        "✖️ Cancel",
    ]
    await english.press("⬅️ Back")
    assert (results.text, results.button_labels) == shown
    assert len(english.bot_messages) == 1

    # Mistyped words come back mistyped, and corrected again.
    await english.send("instagarm likse")
    results = english.last_message
    shown = results.text, results.button_labels
    await press_service(english, "Instagram Likes")
    await english.press("⬅️ Back")
    assert (results.text, results.button_labels) == shown

    # Browsing still goes back to the category.
    await english.send("/start")
    await english.press("🛒 New order")
    await english.press("Instagram")
    await english.press("Likes")
    await press_service(english, "Instagram Likes")
    await english.press("⬅️ Back")
    assert english.last_message.text == "🛒 Instagram › Likes\nChoose a service:"

    russian = ivan(harness)
    await russian.send("лайки инстаграм")
    results = russian.last_message
    shown = results.text, results.button_labels
    await press_service(russian, "Instagram Likes")
    assert results.button_labels == [
        "🛒 Заказать",
        "📋 Несколько ссылок",
        "☆ В избранное",
        "📤 Поделиться",
        "⬅️ Назад",
        "✖️ Отмена",
    ]
    await russian.press("⬅️ Назад")
    assert (results.text, results.button_labels) == shown


async def test_back_from_the_first_question_after_a_search_leads_back_to_the_results(
    harness: BotHarness,
) -> None:
    for person, search, order, step, back in (
        (anna(harness), "instagram likes", "🛒 Order this", "Step 1 of 2", "⬅️ Back"),
        (ivan(harness), "лайки инстаграм", "🛒 Заказать", "Шаг 1 из 2", "⬅️ Назад"),
    ):
        await person.send(search)
        results = person.last_message
        shown = results.text, results.button_labels
        hit = next(b for b in results.button_labels if b.startswith("Instagram Likes"))
        await person.press(hit)
        await person.press(order)
        assert step in results.text  # the first question, in the same message
        await person.press(back)  # to the card...
        assert results.button_labels[0] == order
        await person.press(back)  # ...and to the results
        assert (results.text, results.button_labels) == shown


async def test_back_to_a_long_search_shows_the_words_its_buttons_could_carry(
    harness: BotHarness,
) -> None:
    # Three Russian words are 54 bytes: a button keeps the first two (64 bytes in all).
    russian = ivan(harness)
    await russian.send("подписчики телеграм гарантия")
    await russian.press(russian.last_message.button_labels[0])
    await russian.press("⬅️ Назад")
    assert russian.last_message.text.startswith("🔍 Найдено по запросу «подписчики телеграм»:")


# -- a category of one service -------------------------------------------------------------


async def test_a_category_of_one_service_opens_the_service(harness: BotHarness) -> None:
    english = anna(harness)
    await english.send("/start")
    await english.press("🛒 New order")
    await english.press("Instagram")
    await english.press("Saves (1)")
    assert english.last_message.text.startswith("Instagram Saves\n")
    await english.press("⬅️ Back")  # past the category of one
    assert english.last_message.text == "🛒 New order › Instagram\nChoose a category:"
    # Back from the order's first step shows the card, whose Back skips the category too.
    await english.press("Saves (1)")
    await english.press("🛒 Order this")
    assert "Step 1 of 2" in english.last_message.text
    await english.press("⬅️ Back")
    assert english.last_message.text.startswith("Instagram Saves\n")
    await english.press("⬅️ Back")
    assert english.last_message.text == "🛒 New order › Instagram\nChoose a category:"

    russian = ivan(harness)
    await russian.send("/start")
    await russian.press("🛒 Новый заказ")
    await russian.press("Telegram")
    await russian.press("Poll votes (1)")
    assert russian.last_message.text.startswith("Telegram Poll Votes\n")
    await russian.press("⬅️ Назад")
    assert russian.last_message.text == "🛒 Новый заказ › Telegram\nВыберите категорию:"
