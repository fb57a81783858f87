"""How the routers are put together."""

from __future__ import annotations

from aiogram.dispatcher.event.handler import HandlerObject

from handlers import build_routers


def every_handler() -> list[tuple[str, HandlerObject]]:
    found = []
    for router in build_routers():
        for event, observer in router.observers.items():
            found += [(f"{router.name} {event}", handler) for handler in observer.handlers]
    return found


def test_handlers_and_filters_all_run_on_the_event_loop() -> None:
    # aiogram runs a plain callable in a worker thread on every check: a magic filter
    # (`F.text`), a bare `State`, a sync handler. Under load each hop cost a loop cycle or more.
    handlers = every_handler()
    assert len(handlers) > 30
    threaded = [
        f"{where}: {handler.callback.__name__} {filter_.callback!r}"
        for where, handler in handlers
        for filter_ in handler.filters or []
        if not filter_.awaitable
    ]
    threaded += [
        f"{where}: {handler.callback.__name__}"
        for where, handler in handlers
        if not handler.awaitable
    ]
    assert threaded == []
