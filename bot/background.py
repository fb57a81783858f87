"""Work that runs beside the dispatcher in one task: the tracker and the notifier."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

logger = logging.getLogger(__name__)


class BackgroundLoop(ABC):
    """Calls `run_once()` until stopped. `stop()` lets the round under way finish; a task
    cancelled from outside simply ends. A failing round is logged and tried again after
    `retry_after`."""

    name = "background"
    retry_after = 1.0

    def __init__(self) -> None:
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The running task (cancelling it is a hard stop)."""
        return self._task

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            # A task cancelled from outside has already ended; its error is not ours to raise.
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while not self.stopping:
            try:
                await self.run_once()
            except Exception:
                logger.exception("%s failed; trying again", self.name)
                await self.pause(self.retry_after)

    @abstractmethod
    async def run_once(self) -> None:
        """One round of work; it waits by itself when there is nothing to do."""

    async def pause(self, seconds: float) -> None:
        """Sleep, unless stopped first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), max(0.0, seconds))
