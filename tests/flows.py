"""The order walk, the one way tests take a person through an order: /start, the catalog down
to a service's card, "Order this", the link, the amount, and Confirm. Each part can be taken on
its own, for tests that stop or change something along the way.

Against the bot in this process each tap and message returns once the bot has dealt with it.
Against `python -m bot` in its own process the emulator cannot see that, so `patient=True`
waits for each screen before acting on it, as a person reads first."""

from __future__ import annotations

from bot.sandbox.telegram import SimulatedUser
from tests.helpers import eventually, has_button, service_button, shows

# Instagram Likes: a link and an amount, the shape most tests order.
PLATFORM, CATEGORY, SERVICE = "Instagram", "Likes", "Instagram Likes"
LINK = "https://instagram.com/p/x"
AMOUNT = "1000"
ORDER = "🛒 Order this"


async def tap(user: SimulatedUser, label: str, *, patient: bool = False) -> None:
    if patient:
        await eventually(has_button(user, label))
    await user.press(label)


async def answer(user: SimulatedUser, text: str, prompt: str, *, patient: bool = False) -> None:
    if patient:
        await eventually(shows(user, prompt))
    await user.send(text)


async def open_card(
    user: SimulatedUser,
    platform: str = PLATFORM,
    category: str = CATEGORY,
    service: str = SERVICE,
    *,
    patient: bool = False,
) -> None:
    """/start, then the catalog down to `service`'s card (a category of one service opens
    its card at once)."""
    await user.send("/start")
    for label in ("🛒 New order", platform, category):
        await tap(user, label, patient=patient)
    if patient:
        await eventually(lambda: service_button(user, service) or has_button(user, ORDER)())
    if user.last_message.find_button(ORDER) is None:
        # Its button shows its price after the name.
        await tap(user, service_button(user, service) or service)


async def start_order(
    user: SimulatedUser,
    platform: str = PLATFORM,
    category: str = CATEGORY,
    service: str = SERVICE,
    *,
    patient: bool = False,
) -> None:
    """The service's card, then "Order this": the wizard asks its first question."""
    await open_card(user, platform, category, service, patient=patient)
    await tap(user, ORDER, patient=patient)


async def start_in_russian(
    person: SimulatedUser, platform: str = "Instagram", category: str = "Likes", service: str = ""
) -> None:
    """/start in Russian, down the catalog to `service` (its button ends in its price; a
    category of one service opens it at once), then "Order this"."""
    await person.send("/start")
    for label in ("🛒 Новый заказ", platform, category):
        await person.press(label)
    if person.last_message.find_button("🛒 Заказать") is None:
        await person.press(service_button(person, service or f"{platform} {category}") or service)
    await person.press("🛒 Заказать")


async def fill_order(
    user: SimulatedUser, link: str = LINK, amount: str = AMOUNT, *, patient: bool = False
) -> None:
    """The link and the amount of a started order (a service that asks just those two):
    the confirmation screen."""
    await answer(user, link, "Step 1 of", patient=patient)
    await answer(user, amount, "Step 2 of", patient=patient)
    if patient:
        await eventually(has_button(user, "✅ Confirm"))
    assert "Please check your order" in user.last_message.text


async def up_to_confirmation(
    user: SimulatedUser,
    platform: str = PLATFORM,
    category: str = CATEGORY,
    service: str = SERVICE,
    *,
    link: str = LINK,
    amount: str = AMOUNT,
    patient: bool = False,
) -> None:
    """A whole order but the Confirm: the confirmation screen is the latest message."""
    await start_order(user, platform, category, service, patient=patient)
    await fill_order(user, link, amount, patient=patient)


async def order_from_card(user: SimulatedUser, *, link: str = LINK, amount: str = AMOUNT) -> None:
    """From a service's card however it was reached: "Order this", the link, the amount,
    confirmed."""
    await tap(user, ORDER)
    await fill_order(user, link, amount)
    await user.press("✅ Confirm")


async def place_order(
    user: SimulatedUser,
    platform: str = PLATFORM,
    category: str = CATEGORY,
    service: str = SERVICE,
    *,
    link: str = LINK,
    amount: str = AMOUNT,
) -> None:
    """A whole order, from /start to Confirm pressed."""
    await open_card(user, platform, category, service)
    await order_from_card(user, link=link, amount=amount)
