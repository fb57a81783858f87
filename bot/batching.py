"""Group commit: items written together when they arrive while a write is under way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


class GroupWriter(Generic[ItemT, ResultT]):
    """Hands items to `write` in batches. An item submitted while nothing is being written
    goes at once; those submitted during a write wait for it to end and go together in the
    next, at most `most` at a time. A quiet caller never waits for company; a busy one pays
    one transaction for many items.

    `write` returns one result per item, in order. A batch it refuses is written again item
    by item: only the items it refuses alone raise. An item whose caller is cancelled is
    written all the same."""

    def __init__(
        self, write: Callable[[list[ItemT]], Awaitable[list[ResultT]]], *, most: int = 500
    ) -> None:
        self._write = write
        self._most = most
        self._pending: list[tuple[ItemT, asyncio.Future[ResultT]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def submit(self, item: ItemT) -> ResultT:
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._most], self._pending[self._most :]
            try:
                await self._settle(batch)
            except BaseException:
                for _, future in (*batch, *self._pending):
                    future.cancel()
                self._pending = []
                raise

    async def _settle(self, batch: list[tuple[ItemT, asyncio.Future[ResultT]]]) -> None:
        """Write `batch` and give each its result. A batch that fails is written again one
        item at a time, so one bad item fails alone rather than its whole company."""
        try:
            results = await self._write([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} items")
        except Exception as exc:
            if len(batch) > 1:
                for one in batch:
                    await self._settle([one])
                return
            _, future = batch[0]
            if not future.done():
                future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
