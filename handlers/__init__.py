"""Telegram handlers, one router per screen family."""

from __future__ import annotations

from aiogram import Router

from handlers import account, admin, catalog, connect, errors, order, orders, settings, start


def build_routers() -> list[Router]:
    """Fresh routers on every call: a router can belong to one dispatcher only, and tests build
    many dispatchers in one process. The order matters: commands first, the fallbacks last."""
    return [
        start.build_router(),
        connect.build_router(),
        catalog.build_router(),
        order.build_router(),
        orders.build_router(),
        account.build_router(),
        settings.build_router(),
        admin.build_router(),
        errors.build_router(),
    ]
