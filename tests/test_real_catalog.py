"""The real panel's catalog, as a public dump of its `services` answer shows it: opaque ids
that go back byte for byte, HTML-escaped and messy names, one id listed twice, platforms
spelled in several cases. Each fact end to end: the sandbox panel serves it, the real bot
shows it through the Telegram emulator, and the panel records what `add` was sent."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.sandbox.catalog import builtin_catalog
from bot.sandbox.panel import SandboxPanel
from bot.sandbox.telegram import SimulatedUser
from storage import orders
from tests.conftest import BotFactory
from tests.flows import order_from_card
from tests.harness import BotHarness
from tests.helpers import names

CYRILLIC_ID = "youtubelik\u0443germany"  # a Cyrillic "у" among Latin letters
SPACE_ID = "fbpagelikeindia "  # the panel lists it with its trailing space
LONG_NAME = (
    "Youtube - Лайки  из Германии (живые пользователи, старт 0-2 часа, скорость до 500 в "
    "сутки) \\ гарантия 30 дней \\ без списаний \\ подходит для shorts и обычных видео, "
    "монетизация не пострадает, отчёт по запросу   "
)


def wire(
    service_id: str, category: str, name: str, price: str = "10.00 per 1000"
) -> dict[str, Any]:
    return {
        "service": service_id,
        "category": category,
        "product_name": name,
        "price": price,
        "params": [
            {"name": "Link", "param": "url", "required": "1", "valid": ""},
            {
                "name": "Amount",
                "param": "count",
                "required": "1",
                "valid": "number from 10 to 5000",
            },
        ],
    }


REAL_SHAPED = [
    wire("instlikes100min", "Instagram. Лайки. ", "Instagram - Лайки от 100"),
    wire(
        SPACE_ID,
        "FaceBook. Рейтинг. ",
        "FaceBook - Рейтинг для страниц (Кнопка &quot;Я рекомендую&quot;)",
    ),
    wire(CYRILLIC_ID, "Youtube. Лайки. ", LONG_NAME),
    wire("59", "Рутуб. Продвижение. ", "Рутуб - Кнопка &quot;В ТОП&quot;"),
    wire(
        "tgreactbold",
        "Telegram. Реакции. ",
        "Telegram - Реакции &lt;b&gt;премиум&lt;/b&gt; &amp;amp; быстро",
    ),
    wire("tiktokviewsdup", "TIKTOK. Просмотры. ", "TIKTOK - Просмотры (первый)", "1.00 per 1000"),
    wire("tiktoklikes1", "TikTok. Лайки. ", "TikTok - Лайки"),
    wire("tiktoklikes2", "TikTok. лайки. ", "TikTok - Лайки быстрые"),
    wire("tiktokviewsdup", "TikTok. Просмотры. ", "TikTok - Просмотры (второй)", "9.00 per 1000"),
    wire("fblikes", "Facebook. Лайки. ", "Facebook - Лайки"),
    wire("vkfriends", "ВКонтакте. Друзья. ", "ВКонтакте - Друзья"),
    wire("vklikes", "Вконтакте. Лайки. ", "Вконтакте - Лайки"),
    wire("vkreposts", "Вконтакте. Репосты. ", "Вконтакте - Репосты"),
    wire("spotifyplays", "", "Spotify - Прослушивания треков"),
]


@pytest.fixture
async def bot(make_bot: BotFactory, panel: SandboxPanel) -> AsyncIterator[BotHarness]:
    panel.set_catalog(REAL_SHAPED)
    async with make_bot().running() as harness:
        yield harness


async def order_found_by(user: SimulatedUser, words: str, button: str) -> None:
    """Find a service by `words`, order 100 of it, confirm."""
    await user.send(f"/search {words}")
    await user.press(button)
    await order_from_card(user, link="https://example.com/page", amount="100")


def sent_service_ids(panel: SandboxPanel) -> list[str]:
    return [r.fields["service"] for r in panel.requests if r.action == "add"]


# -- ids ---------------------------------------------------------------------------------


async def test_an_id_goes_back_to_the_panel_byte_for_byte(bot: BotHarness) -> None:
    anna = bot.user(501, "Anna")
    await anna.send("/start")
    await order_found_by(anna, "рекомендую", "Рейтинг для страниц")
    assert "📦 Order #7000000\n" in anna.last_message.text
    await order_found_by(anna, "германии", "Лайки из Германии")
    assert "📦 Order #7000001\n" in anna.last_message.text
    await order_found_by(anna, "рутуб", "В ТОП")
    assert "📦 Order #7000002\n" in anna.last_message.text
    assert sent_service_ids(bot.panel) == [SPACE_ID, CYRILLIC_ID, "59"]

    assert bot.services is not None
    stored = await orders.list_for_user(bot.services.db, 501, limit=10)
    assert sorted(o.service_id for o in stored) == sorted([SPACE_ID, CYRILLIC_ID, "59"])

    # Order again looks the service up by the stored id: still found, still sent exactly.
    await anna.send("/orders")
    await anna.press("#7000000")
    await anna.press("🔁 Order again")
    await anna.press("✅ Confirm")
    assert "📦 Order #7000003\n" in anna.last_message.text
    assert sent_service_ids(bot.panel)[-1] == SPACE_ID
    # Buttons carry short keys, never an id: within Telegram's 64 bytes whatever the id (the
    # harness fails the test on any request Telegram would refuse).
    markups = [str(c.parameters.get("reply_markup", "")) for c in bot.emulator.calls]
    assert not any("fbpagelike" in m or "youtubelik" in m for m in markups)


async def test_of_two_services_with_one_id_the_first_is_offered_and_logged_once(
    make_bot: BotFactory, panel: SandboxPanel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.catalog")
    panel.set_catalog(REAL_SHAPED)
    harness = make_bot()
    async with harness.running():
        anna = harness.user(501, "Anna")
        await anna.send("/start")
        await anna.press("🛒 New order")
        await anna.press("TikTok")
        await anna.press("Просмотры (1)")  # the first entry only, opened at once
        assert anna.last_message.text.startswith("TIKTOK - Просмотры (первый)\n")
        await anna.send("/search второй")
        assert "Nothing found" in anna.last_message.text
        await order_found_by(anna, "просмотры", "Просмотры (первый)")
        assert "RUB\u00a00.10" in anna.last_message.text  # 100 at the first entry's price
        await harness.restart()  # the cache holds the catalog as kept: no second warning
        await anna.send("/search просмотры")
        await anna.press("Просмотры (первый)")
    assert sent_service_ids(panel) == ["tiktokviewsdup"]
    duplicates = [r for r in caplog.records if "more than once" in r.getMessage()]
    assert len(duplicates) == 1
    assert "'tiktokviewsdup' is 'TIKTOK - Просмотры (первый)'" in duplicates[0].getMessage()


# -- names -------------------------------------------------------------------------------


async def test_escaped_names_are_shown_as_the_panel_meant_them(bot: BotHarness) -> None:
    anna = bot.user(501, "Anna")
    await anna.send("/start")
    await anna.send("/search рекомендую")
    assert "FaceBook - Рейтинг для страниц (Кнопка…" in names(anna.last_message.button_labels)
    await anna.press("Рейтинг для страниц")
    assert anna.last_message.text.startswith(
        'FaceBook - Рейтинг для страниц (Кнопка "Я рекомендую")\n'
    )

    # A name that is literally "&lt;b&gt;" on the panel is the text "<b>", never markup,
    # and "&amp;amp;" is decoded once: "&amp;".
    await anna.send("/search премиум")
    await anna.press("премиум")
    card = anna.last_message
    assert card.text.startswith("Telegram - Реакции <b>премиум</b> &amp; быстро\n")
    request = [c for c in bot.emulator.calls if c.method in ("sendMessage", "editMessageText")][-1]
    assert "Реакции &lt;b&gt;премиум&lt;/b&gt; &amp;amp; быстро" in request.parameters["text"]

    # The same after a restart, when the catalog comes from the cache, not the panel.
    await bot.restart()
    await anna.send("/search премиум")
    await anna.press("премиум")
    assert anna.last_message.text.startswith("Telegram - Реакции <b>премиум</b> &amp; быстро\n")


async def test_a_long_messy_name_is_cut_on_buttons_and_found_by_any_word(bot: BotHarness) -> None:
    shown = " ".join(LONG_NAME.split())
    anna = bot.user(501, "Anna")
    await anna.send("/start")
    await anna.press("🛒 New order")
    await anna.press("Youtube")
    await anna.press("Лайки")  # its one service, opened at once
    assert anna.last_message.text.startswith(shown + "\n")  # whole, spaces collapsed
    await anna.send("/search германии")
    [button] = [b for b in anna.last_message.button_labels if b.startswith("Youtube")]
    name, price = button.split(" · ")
    assert name.endswith("…")
    assert price == "RUB\u00a010.00/1K"
    assert len(button) <= 60

    for words in ("германии", "гарантия 30 дней", "shorts", "монетизация", "запросу"):
        await anna.send(f"/search {words}")
        assert any(
            label.startswith("Youtube - Лайки из Германии")
            for label in anna.last_message.button_labels
        ), words


# -- platforms and categories ------------------------------------------------------------


async def test_spellings_that_differ_only_in_case_are_one_platform(bot: BotHarness) -> None:
    anna = bot.user(501, "Anna")
    await anna.send("/start")
    await anna.press("🛒 New order")
    labels = anna.last_message.button_labels
    # TikTok twice against TIKTOK once; Facebook and FaceBook tie, so the first listed
    # wins; Вконтакте twice against ВКонтакте once.
    assert "TikTok (3)" in labels
    assert "FaceBook (2)" in labels
    assert "Вконтакте (3)" in labels
    assert not any(label.startswith(("TIKTOK", "Facebook", "ВКонтакте")) for label in labels)
    assert "Spotify (1)" in labels  # no category: grouped by the name's prefix

    await anna.press("TikTok")
    assert "Лайки (2)" in anna.last_message.button_labels  # "Лайки" and "лайки" are one


async def test_the_builtin_catalog_is_browsable_page_by_page(harness: BotHarness) -> None:
    """The demo's catalog, a few hundred services over dozens of platforms: every platform
    page opens, and each platform's categories, without a request Telegram would refuse."""
    assert len(builtin_catalog()) >= 250
    anna = harness.user(501, "Anna")
    await anna.send("/start")
    await anna.press("🛒 New order")
    seen: list[str] = []
    while True:
        buttons = [b for row in anna.last_message.buttons for b in row]
        next_page = next((b.callback_data for b in buttons if b.text == "▶️"), None)
        platforms = [b for b in buttons if b.text.endswith(")")]
        for platform in platforms:
            assert platform.callback_data is not None
            await anna.press_data(platform.callback_data)
            assert "Choose a category" in anna.last_message.text, platform.text
        seen.extend(b.text for b in platforms)
        if next_page is None:
            break
        await anna.press_data(next_page)
    assert len(seen) >= 30
    assert len(seen) == len({label.split(" (")[0].casefold() for label in seen})
