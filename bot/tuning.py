"""Process-wide tuning for the bot's process, each kept because `benchmarks.flow` shows it
matters (figures, and the command that reproduces them: docs/PERFORMANCE.md, "Process
tuning"). `smmbot run` applies it once start-up is done; the benchmarks apply it too.
"""

from __future__ import annotations

import gc
from typing import Any

import aiogram.methods
from aiogram.methods.base import Response, TelegramMethod

# aiogram parametrizes `Response[T]` for every Bot API call it makes, and pydantic caches
# parametrized models only weakly: a full garbage collection drops them and the next call
# rebuilds one (milliseconds of CPU). Referenced here, they live as long as the process.
_response_models: list[Any] = []


def _returned_types() -> set[Any]:
    types = set()
    for name in dir(aiogram.methods):
        method = getattr(aiogram.methods, name)
        if isinstance(method, type) and issubclass(method, TelegramMethod):
            returning = getattr(method, "__returning__", None)
            if returning is not None and not isinstance(returning, property):
                types.add(returning)
    return types


def tune_process() -> None:
    """Keep aiogram's response models, then move everything built so far (it lives as long
    as the process) out of the garbage collector's full passes."""
    if not _response_models:
        _response_models.extend(
            Response[returned]  # type: ignore[valid-type]
            for returned in _returned_types()
        )
    gc.collect()
    gc.freeze()
