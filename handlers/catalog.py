"""Browsing the catalog (platform -> category -> service), the service card, and search.

Everything here is served from the catalog snapshot: no click waits on the panel.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.catalog import Catalog, CatalogSnapshot, Query
from bot.config import Settings
from bot.formatting import quote
from handlers import keyboards, screens, texts
from handlers.callbacks import CategoryPage, Menu, PlatformPage, Platforms, ServiceCard
from handlers.filters import TypedText
from handlers.middlewares import require_panel
from handlers.screens import Event
from handlers.states import SearchWizard

SEARCH_RESULTS = 10


def build_router() -> Router:
    router = Router(name=__name__)
    require_panel(router)
    router.callback_query.register(new_order, Menu.filter(F.to == "new"))
    router.callback_query.register(platforms_page, Platforms.filter())
    router.callback_query.register(platform_page, PlatformPage.filter())
    router.callback_query.register(category_page, CategoryPage.filter())
    router.callback_query.register(service_card, ServiceCard.filter())
    router.message.register(search, Command("search"))
    router.callback_query.register(search, Menu.filter(F.to == "search"))
    router.message.register(search_typed, StateFilter(SearchWizard.query), TypedText())
    return router


async def current(event: Event, catalog: Catalog) -> CatalogSnapshot | None:
    snapshot = await catalog.snapshot()
    if snapshot is None or not len(snapshot):
        await screens.show(
            event,
            _(
                "⚠️ The catalog isn't available right now: SMMLaba isn't answering. "
                "Try again in a few minutes."
            ),
            keyboards.to_menu(),
        )
        return None
    return snapshot


async def new_order(callback: CallbackQuery, catalog: Catalog, state: FSMContext) -> None:
    await state.clear()
    await show_platforms(callback, catalog, 0)


async def platforms_page(
    callback: CallbackQuery, callback_data: Platforms, catalog: Catalog
) -> None:
    await show_platforms(callback, catalog, callback_data.page)


async def show_platforms(event: Event, catalog: Catalog, page: int) -> None:
    snapshot = await current(event, catalog)
    if snapshot is None:
        return
    text = _("🛒 New order\nChoose a platform:")
    await screens.show(event, text, keyboards.platforms(snapshot, page))


async def platform_page(
    callback: CallbackQuery,
    callback_data: PlatformPage,
    catalog: Catalog,
    callback_answer: CallbackAnswer,
) -> None:
    snapshot = await current(callback, catalog)
    if snapshot is None:
        return
    platform = snapshot.platform(callback_data.platform)
    if platform is None:
        await screens.expired(callback, callback_answer)
        return
    text = _("🛒 New order › {platform}\nChoose a category:").format(platform=quote(platform.name))
    await screens.show(callback, text, keyboards.categories(platform, callback_data.page))


async def category_page(
    callback: CallbackQuery,
    callback_data: CategoryPage,
    catalog: Catalog,
    callback_answer: CallbackAnswer,
) -> None:
    snapshot = await current(callback, catalog)
    if snapshot is None:
        return
    found = snapshot.category(callback_data.platform, callback_data.category)
    if found is None:
        await screens.expired(callback, callback_answer)
        return
    platform, category = found
    text = _("🛒 {platform} › {category}\nChoose a service:").format(
        platform=quote(platform.name), category=quote(category.name)
    )
    await screens.show(callback, text, keyboards.services(platform, category, callback_data.page))


async def service_card(
    callback: CallbackQuery,
    callback_data: ServiceCard,
    catalog: Catalog,
    settings: Settings,
    callback_answer: CallbackAnswer,
    state: FSMContext,
) -> None:
    snapshot = await current(callback, catalog)
    if snapshot is None:
        return
    service = snapshot.service(callback_data.service)
    found = snapshot.location(service) if service is not None else None
    if service is None or found is None:
        await screens.expired(callback, callback_answer)
        return
    await state.clear()
    platform, category = found
    await screens.show(
        callback,
        texts.service_card(service, settings.panel_currency),
        keyboards.service_card(service, platform, category),
    )


async def search(
    event: Event, catalog: Catalog, state: FSMContext, command: CommandObject | None = None
) -> None:
    """/search with words shows what they find; /search alone, or the button, asks for them."""
    if command is None or not command.args or not isinstance(event, Message):
        await ask_for_query(event, state)
        return
    await state.clear()
    await show_results(event, catalog, command.args)


async def ask_for_query(event: Event, state: FSMContext) -> None:
    await state.set_state(SearchWizard.query)
    await screens.show(
        event,
        _("🔍 What are you looking for? Send a word or two, e.g. <i>instagram likes</i>."),
        keyboards.to_menu(),
    )


async def search_typed(message: Message, catalog: Catalog, state: FSMContext) -> None:
    await state.clear()
    await show_results(message, catalog, message.text or "")


async def show_results(message: Message, catalog: Catalog, text: str) -> None:
    snapshot = await current(message, catalog)
    if snapshot is None:
        return
    query = Query.parse(text)
    found = snapshot.search(query, limit=SEARCH_RESULTS + 1)
    # A shortened query is shown as the words searched for.
    shown = quote(" ".join(query.words if query.shortened else text.split())[:100])
    if found:
        reply = _("🔍 Results for «{query}»:").format(query=shown)
    else:
        reply = _("Nothing found for «{query}». Try another word.").format(query=shown)
    if query.shortened:
        reply += "\n" + _("✂️ The query was too long: I searched for its first words only.")
    if len(found) > SEARCH_RESULTS:
        reply += "\n" + _("Showing the best {count}; add a word to narrow it down.").format(
            count=SEARCH_RESULTS
        )
    await message.answer(reply, reply_markup=keyboards.search_results(found[:SEARCH_RESULTS]))
