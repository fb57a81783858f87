"""The HTTP connections every panel account shares, as lanes: each an httpx transport with one
kept-alive connection and one request at a time, handed out first come first served (httpcore's
pool hands a freed connection to every waiter at once, and all but one go round again:
https://github.com/encode/httpcore/issues/822). Requests marked `URGENT` (a person waits for
the answer) may take any lane, the others at most `lanes - reserved`: background checks stuck
on a slow panel never leave a person's order waiting for a connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import cast

import httpx

LANES = 16
RESERVED = 4
USER_AGENT = "smmbot/0.1"

URGENT = "smmbot.urgent"
"""Request extension: `extensions={URGENT: True}` lets a request use the reserved lanes."""


def panel_http(lanes: int = LANES, reserved: int = RESERVED) -> httpx.AsyncClient:
    """An HTTP client for the panel with at most `lanes` requests in flight, `reserved` of them
    kept for `URGENT` requests."""
    return httpx.AsyncClient(
        transport=LaneTransport(lanes, reserved), headers={"User-Agent": USER_AGENT}
    )


class LaneTransport(httpx.AsyncBaseTransport):
    def __init__(self, lanes: int, reserved: int = 0) -> None:
        if not 0 <= reserved < lanes:
            raise ValueError(f"reserved must be in [0, lanes): {reserved} of {lanes} lanes")
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        tls = httpx.create_ssl_context()  # loading the CA store takes ~15 ms: once, not per lane
        self._lanes = [httpx.AsyncHTTPTransport(verify=tls, limits=one) for _ in range(lanes)]
        # Last in, first out: a quiet bot keeps reusing one warm connection.
        self._free: asyncio.LifoQueue[httpx.AsyncHTTPTransport] = asyncio.LifoQueue()
        for lane in self._lanes:
            self._free.put_nowait(lane)
        # Taken before a lane by every request that is not urgent, given back with the lane.
        self._background = asyncio.Semaphore(lanes - reserved)

    async def _take_lane(
        self, request: httpx.Request, background: bool
    ) -> httpx.AsyncHTTPTransport:
        if not (background and self._background.locked()) and not self._free.empty():
            # Most of the time: no task, no wait (an unlocked semaphore is taken at once).
            if background:
                await self._background.acquire()
            return self._free.get_nowait()
        wait = request.extensions.get("timeout", {}).get("pool")
        try:
            async with asyncio.timeout(wait):  # one deadline for the budget and the lane
                if background:
                    await self._background.acquire()
                try:
                    return await self._free.get()
                except BaseException:
                    if background:
                        self._background.release()
                    raise
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection to the panel", request=request) from None

    def _give_back(self, lane: httpx.AsyncHTTPTransport, background: bool) -> None:
        self._free.put_nowait(lane)
        if background:
            self._background.release()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        background = not request.extensions.get(URGENT, False)
        lane = await self._take_lane(request, background)
        try:
            response = await lane.handle_async_request(request)
        except BaseException:
            self._give_back(lane, background)
            raise
        stream = cast(httpx.AsyncByteStream, response.stream)  # an async transport's
        response.stream = _ClosingStream(stream, lambda: self._give_back(lane, background))
        return response

    async def aclose(self) -> None:
        for lane in self._lanes:
            await lane.aclose()


class _ClosingStream(httpx.AsyncByteStream):
    """A response body that frees its lane, once, when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, on_close: Callable[[], None]) -> None:
        self._stream = stream
        self._on_close: Callable[[], None] | None = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._on_close is not None:
                self._on_close()
                self._on_close = None
