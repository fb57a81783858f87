"""Telegram handlers, one router per screen family."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    account,
    admin,
    catalog,
    connect,
    errors,
    favourites,
    groups,
    order,
    orders,
    settings,
    settle,
    several,
    spent,
    start,
    track,
)


def build_routers() -> list[Router]:
    """Fresh routers on every call: a router can belong to one dispatcher only, and tests build
    many dispatchers in one process. Each router's filters are disjoint from the others' (own
    callback prefixes, own states, commands kept out of typed values), so their order only
    decides cost: aiogram tries routers in turn, so the ones most updates are for (ordering,
    browsing) come first. The fallbacks must stay last."""
    return [
        groups.build_router(),  # first: in a group, nothing else answers
        order.build_router(),
        several.build_router(),
        catalog.build_router(),
        favourites.build_router(),
        start.build_router(),
        connect.build_router(),
        orders.build_router(),
        track.build_router(),
        settle.build_router(),
        account.build_router(),
        settings.build_router(),
        spent.build_router(),
        admin.build_router(),
        errors.build_router(),
    ]
