"""Browsing the catalog (platform -> category -> service), the service card, and search.

Everything here is served from the catalog snapshot: no click waits on the panel. Text typed
outside any conversation is a search: words (mistyped ones too), a service's id, or a link,
which offers the services for its site.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.catalog import Catalog, CatalogSnapshot, site_of
from bot.config import Settings
from bot.formatting import quote
from handlers import keyboards, screens
from handlers.callbacks import (
    CategoryByPrice,
    CategoryPage,
    Menu,
    PlatformPage,
    Platforms,
    SearchHit,
    SearchResults,
    ServiceCard,
    search_words,
)
from handlers.filters import TypedText
from handlers.middlewares import require_panel
from handlers.screens import Event
from handlers.states import SearchWizard
from storage.db import Database

SEARCH_RESULTS = 10


def build_router() -> Router:
    router = Router(name=__name__)
    require_panel(router)
    router.callback_query.register(new_order, Menu.filter(F.to == "new"))
    router.callback_query.register(platforms_page, Platforms.filter())
    router.callback_query.register(platform_page, PlatformPage.filter())
    router.callback_query.register(category_page, CategoryPage.filter())
    router.callback_query.register(category_page, CategoryByPrice.filter())
    router.callback_query.register(service_card, ServiceCard.filter())
    router.callback_query.register(service_card, SearchHit.filter())
    router.message.register(search, Command("search"))
    router.callback_query.register(search, Menu.filter(F.to == "search"))
    router.callback_query.register(results_again, SearchResults.filter())
    # Asked for, or typed at the main menu: anything typed outside a conversation.
    router.message.register(search_typed, StateFilter(SearchWizard.query, None), TypedText())
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
    callback_data: CategoryPage | CategoryByPrice,
    catalog: Catalog,
    settings: Settings,
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
    markup = keyboards.services(
        platform,
        category,
        callback_data.page,
        settings.panel_currency,
        cheapest=isinstance(callback_data, CategoryByPrice),
    )
    await screens.show(callback, text, markup)


async def service_card(
    callback: CallbackQuery,
    callback_data: ServiceCard | SearchHit,
    catalog: Catalog,
    settings: Settings,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    db: Database,
) -> None:
    snapshot = await current(callback, catalog)
    if snapshot is None:
        return
    service = snapshot.service(callback_data.service)
    found = snapshot.location(service) if service is not None else None
    if service is None or found is None:
        # A recent or starred service, or an old card's button: the catalog changed.
        await screens.expired(callback, callback_answer, _("This service is no longer offered."))
        return
    await state.clear()
    found_by = callback_data.query if isinstance(callback_data, SearchHit) else ""
    await screens.service_card(
        callback, service, found, settings.panel_currency, db, found_by=found_by
    )


async def search(
    event: Event,
    catalog: Catalog,
    settings: Settings,
    state: FSMContext,
    command: CommandObject | None = None,
) -> None:
    """/search with words shows what they find; /search alone, or the button, asks for them."""
    if command is None or not command.args or not isinstance(event, Message):
        await ask_for_query(event, state)
        return
    await state.clear()
    await show_results(event, catalog, settings, command.args)


async def ask_for_query(event: Event, state: FSMContext) -> None:
    await state.set_state(SearchWizard.query)
    await screens.show(
        event,
        _("🔍 What are you looking for? Send a word or two, e.g. <i>instagram likes</i>."),
        keyboards.to_menu(),
    )


async def search_typed(
    message: Message, catalog: Catalog, settings: Settings, state: FSMContext
) -> None:
    await state.clear()
    await show_results(message, catalog, settings, message.text or "")


async def results_again(
    callback: CallbackQuery,
    callback_data: SearchResults,
    catalog: Catalog,
    settings: Settings,
    state: FSMContext,
) -> None:
    """Back from a card opened from search results: the same search again."""
    await state.clear()
    await show_results(callback, catalog, settings, callback_data.query)


async def show_results(event: Event, catalog: Catalog, settings: Settings, text: str) -> None:
    snapshot = await current(event, catalog)
    if snapshot is None:
        return
    site = site_of(text)
    if site is not None:
        await offer_site(event, snapshot, site, settings.panel_currency)
        return
    found = snapshot.search(text, limit=SEARCH_RESULTS + 1)
    query = found.query
    # A shortened query is shown as the words searched for.
    shown = quote(" ".join(query.words if query.shortened else text.split())[:100])
    if found.services:
        reply = _("🔍 Results for «{query}»:").format(query=shown)
    else:
        reply = _("Nothing found for «{query}». Try other words, or browse the catalog.").format(
            query=shown
        )
    if found.approximate:
        reply += "\n" + _("✏️ Nothing matched exactly: these are the closest spellings.")
    if query.shortened:
        reply += "\n" + _("✂️ The query was too long: I searched for its first words only.")
    if len(found.services) > SEARCH_RESULTS:
        reply += "\n" + _("Showing the best {count}; add a word to narrow it down.").format(
            count=SEARCH_RESULTS
        )
    markup = keyboards.search_results(
        found.services[:SEARCH_RESULTS], search_words(query.words), settings.panel_currency
    )
    await screens.show(event, reply, markup)


async def offer_site(event: Event, snapshot: CatalogSnapshot, site: str, currency: str) -> None:
    """A link: the platforms with services for its site, as browsing shows them."""
    platforms = snapshot.platforms_for_site(site)
    if len(platforms) == 1:
        text = _("🔗 Services for {site}\nChoose a category:")
        markup = keyboards.categories(platforms[0], 0)
    elif platforms:
        text = _("🔗 Services for {site}\nChoose a platform:")
        markup = keyboards.site_platforms(platforms)
    else:
        text = _("🔗 I have no services for {site}. Try a few words, or browse the catalog.")
        markup = keyboards.search_results([], "", currency)
    await screens.show(event, text.format(site=quote(site)), markup)
