"""Favourites: ⭐ on a service's card stars it or unstars it; ⭐ Favourites in the main menu
lists the starred services, and says which have left the catalog."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.catalog import Catalog, service_key
from bot.formatting import quote
from handlers import keyboards, screens
from handlers.callbacks import Favourite, Menu
from handlers.middlewares import require_panel
from handlers.screens import Event
from storage import favourites
from storage.db import Database

MOST_FAVOURITES = 30  # a list that fits one screen of buttons


def build_router() -> Router:
    router = Router(name=__name__)
    require_panel(router)
    router.callback_query.register(show_favourites, Menu.filter(F.to == "favourites"))
    router.callback_query.register(toggle, Favourite.filter())
    return router


async def show_favourites(event: Event, db: Database, catalog: Catalog) -> None:
    person = event.from_user.id if event.from_user is not None else 0
    starred = await favourites.of_user(db, person)
    if not starred:
        await screens.show(
            event,
            _("⭐ No favourites yet. Tap ☆ on a service's card to keep it here."),
            keyboards.to_menu(),
        )
        return
    snapshot = await catalog.snapshot()
    if snapshot is None:  # not "gone": unknown, until the panel answers
        await screens.show(event, catalog_unavailable(), keyboards.to_menu())
        return
    shown, gone = [], []
    for favourite in starred:
        service = snapshot.by_id(favourite.service_id)
        if service is not None:
            shown.append(service)
        else:
            gone.append(favourite)
    lines = [_("⭐ Your favourites")]
    lines += [_("⚠️ {name} is no longer offered.").format(name=quote(f.service_name)) for f in gone]
    await screens.show(event, "\n".join(lines), keyboards.favourites(shown, gone))


async def toggle(
    callback: CallbackQuery,
    callback_data: Favourite,
    db: Database,
    catalog: Catalog,
    callback_answer: CallbackAnswer,
) -> None:
    person = callback.from_user.id
    if callback_data.listed or not callback_data.on:
        # Found by key among the person's own stars: a service that left the catalog too.
        starred = await favourites.of_user(db, person)
        match = [f for f in starred if service_key(f.service_id) == callback_data.service]
        for favourite in match:
            await favourites.remove(db, person, favourite.service_id)
        callback_answer.text = _("Removed from favourites")
        if callback_data.listed:
            await show_favourites(callback, db, catalog)
            return
        await _swap_star(callback, on=False)
        return
    snapshot = await catalog.snapshot()
    if snapshot is None:
        callback_answer.text = catalog_unavailable()
        return
    service = snapshot.service(callback_data.service)
    if service is None:
        await screens.expired(callback, callback_answer, _("This service is no longer offered."))
        return
    if len(await favourites.of_user(db, person)) >= MOST_FAVOURITES:
        callback_answer.text = _(
            "You have {count} favourites, the most I keep: remove one first."
        ).format(count=MOST_FAVOURITES)
        return
    await favourites.add(db, person, service.id, service.name)
    callback_answer.text = _("⭐ Added to favourites")
    await _swap_star(callback, on=True)


async def _swap_star(callback: CallbackQuery, *, on: bool) -> None:
    """The card's ⭐ button shows the new state; the rest of the card stays as it is."""
    message = callback.message
    if not isinstance(message, Message) or message.reply_markup is None or callback.data is None:
        return
    try:
        await message.edit_reply_markup(
            reply_markup=keyboards.with_star(message.reply_markup, callback.data, on)
        )
    except TelegramBadRequest as exc:  # a second tap asks for what the first one did
        if "message is not modified" not in exc.message:
            raise


def catalog_unavailable() -> str:
    return _(
        "⚠️ The catalog isn't available right now: SMMLaba isn't answering. "
        "Try again in a few minutes."
    )
