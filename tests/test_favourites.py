"""Recent services and favourites, end to end: the main menu offers what the person ordered
last, with its values again; ⭐ keeps services in a list; both outlive a restart and follow
the catalog when a service leaves it."""

from __future__ import annotations

import pytest

from bot.sandbox.catalog import builtin_catalog
from tests.conftest import BotFactory
from tests.flows import LINK, SERVICE, open_card, place_order
from tests.harness import BotHarness
from tests.helpers import russian

INSTAGRAM_LIKES = "389"


@pytest.fixture
async def bot(make_bot: BotFactory) -> BotHarness:
    return make_bot(admin_ids=frozenset({42}))


def without(service_id: str) -> list[dict[str, object]]:
    return [s for s in builtin_catalog() if str(s["service"]) != service_id]


async def test_the_menu_offers_the_last_services_with_their_last_values(bot: BotHarness) -> None:
    async with bot.running():
        anna = bot.user(501, "Anna")
        await anna.send("/start")
        assert not any(label.startswith("🔁") for label in anna.last_message.button_labels)
        await place_order(anna, amount="750")
        await anna.send("/start")
        labels = anna.last_message.button_labels
        assert labels[0] == f"🔁 {SERVICE}"
        assert "⭐ Favourites" in labels

        await anna.press(f"🔁 {SERVICE}")
        assert SERVICE in anna.last_message.text  # its card
        await anna.press("🔁 Same as last time")
        confirmation = anna.last_message.text
        assert "Please check your order" in confirmation
        assert LINK in confirmation
        assert "750" in confirmation
        await anna.press("✏️ Change")  # editable like any confirmation
        assert anna.last_message.find_button("✅ Confirm") is None

        await bot.restart()
        await anna.send("/start")
        assert anna.last_message.button_labels[0] == f"🔁 {SERVICE}"

        # Someone else's menu shows their own services, not Anna's.
        boris = bot.user(502, "Boris")
        await boris.send("/start")
        assert not any(label.startswith("🔁") for label in boris.last_message.button_labels)


async def test_a_star_keeps_a_service_in_favourites_across_a_restart(bot: BotHarness) -> None:
    async with bot.running():
        anna = bot.user(501, "Anna")
        await anna.send("/start")
        await anna.press("⭐ Favourites")
        assert "No favourites yet" in anna.last_message.text

        await open_card(anna)
        card = anna.last_message
        await anna.press("☆ Add to favourites")
        assert anna.callback_answers[-1] == "⭐ Added to favourites"
        assert "⭐ In favourites" in card.button_labels
        assert "⬅️ Back" in card.button_labels  # the rest of the card stays as it was

        await bot.restart()
        await anna.send("/start")
        await anna.press("⭐ Favourites")
        assert "Your favourites" in anna.last_message.text
        await anna.press(SERVICE)
        card = anna.last_message
        assert "⭐ In favourites" in card.button_labels
        await anna.press("⭐ In favourites")
        assert anna.callback_answers[-1] == "Removed from favourites"
        assert "☆ Add to favourites" in card.button_labels
        await anna.send("/start")
        await anna.press("⭐ Favourites")
        assert "No favourites yet" in anna.last_message.text


async def test_a_service_that_left_the_catalog_says_so(bot: BotHarness) -> None:
    async with bot.running():
        anna, admin = bot.user(501, "Anna"), bot.user(42, "Admin")
        await place_order(anna)
        await open_card(anna)
        await anna.press("☆ Add to favourites")
        await anna.send("/start")
        menu = anna.last_message

        bot.panel.set_catalog(without(INSTAGRAM_LIKES))
        await admin.send("/refresh_catalog")
        assert "refreshed" in admin.last_message.text

        await anna.press(f"🔁 {SERVICE}", message=menu)
        assert anna.callback_answers[-1] == "This service is no longer offered."
        await anna.send("/start")
        await anna.press("⭐ Favourites")
        assert f"⚠️ {SERVICE} is no longer offered." in anna.last_message.text
        await anna.press(f"🗑 {SERVICE}")
        assert "No favourites yet" in anna.last_message.text


async def test_favourites_speak_russian(bot: BotHarness) -> None:
    ru = russian()
    async with bot.running():
        ivan = bot.user(600, "Иван", language_code="ru")
        await ivan.send("/start")
        await ivan.press(ru("⭐ Favourites"))
        assert ru("⭐ No favourites yet. Tap ☆ on a service's card to keep it here.") in (
            ivan.last_message.text
        )
