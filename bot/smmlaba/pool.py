"""The HTTP connections every panel account shares.

httpcore's pool hands the first idle connection to every queued request at once; the first to
run takes it and the others get `ConnectionNotAvailable`, requeue and try again. Under a burst
(a few hundred people reaching the confirmation together) one request went round that loop 24
times and waited 1.3 s for a panel that answered in 10 ms; and with more connections open than
it keeps alive, it closed and reopened one for about every other request. So the pool here is
a set of lanes, each an httpx transport with one kept-alive connection and never more than
one request: a request waits for a free lane, first come first served, and takes it until its
response is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx

LANES = 16
USER_AGENT = "smmbot/0.1"


def panel_http(lanes: int = LANES) -> httpx.AsyncClient:
    """An HTTP client for the panel with at most `lanes` requests in flight."""
    return httpx.AsyncClient(transport=LaneTransport(lanes), headers={"User-Agent": USER_AGENT})


class LaneTransport(httpx.AsyncBaseTransport):
    def __init__(self, lanes: int) -> None:
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        tls = httpx.create_ssl_context()  # loading the CA store takes ~15 ms: once, not per lane
        self._lanes = [httpx.AsyncHTTPTransport(verify=tls, limits=one) for _ in range(lanes)]
        # Last in, first out: a quiet bot keeps reusing one warm connection.
        self._free: asyncio.LifoQueue[httpx.AsyncHTTPTransport] = asyncio.LifoQueue()
        for lane in self._lanes:
            self._free.put_nowait(lane)

    async def _take_lane(self, request: httpx.Request) -> httpx.AsyncHTTPTransport:
        try:
            return self._free.get_nowait()  # most of the time: no task, no wait
        except asyncio.QueueEmpty:
            pass
        wait = request.extensions.get("timeout", {}).get("pool")
        try:
            return await asyncio.wait_for(self._free.get(), wait)
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection to the panel", request=request) from None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        lane = await self._take_lane(request)
        try:
            response = await lane.handle_async_request(request)
        except BaseException:
            self._free.put_nowait(lane)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _ClosingStream(response.stream, lambda: self._free.put_nowait(lane))
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
