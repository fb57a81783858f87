"""The HTTP connections every panel account shares: at most `lanes` requests in flight, each
on a kept-alive connection, handed out first come first served. Requests marked `URGENT` (a
person waits for the answer) may take any lane, the others at most `lanes - reserved`:
background checks stuck on a slow panel never leave a person's order waiting for a connection.

The client is httpx; the bytes travel through aiohttp's connection pool (aiogram's own HTTP
library, so no new dependency), whose C parser takes half the CPU httpcore does per request
(docs/PERFORMANCE.md). Its errors are told apart as the panel client needs them: failing to
connect means the request was never sent (`httpx.ConnectError`, `httpx.ConnectTimeout`,
`httpx.PoolTimeout`); anything after that may have reached the panel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import httpx
from yarl import URL

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
        self._lane_count = lanes
        self._tls = httpx.create_ssl_context()  # loading the CA store takes ~15 ms: once
        self._session: aiohttp.ClientSession | None = None  # made in the running loop
        self._lanes = asyncio.Semaphore(lanes)
        # Taken before a lane by every request that is not urgent, given back with the lane.
        self._background = asyncio.Semaphore(lanes - reserved)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            # As many connections as lanes: a request holding a lane never waits in aiohttp.
            connector = aiohttp.TCPConnector(limit=self._lane_count, ssl=self._tls)
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies, if any
                auto_decompress=False,  # httpx decodes the body by its Content-Encoding
            )
        return self._session

    async def _take_lane(self, request: httpx.Request, background: bool) -> None:
        if not (background and self._background.locked()) and not self._lanes.locked():
            # Most of the time: no wait (an unlocked semaphore is taken at once).
            if background:
                await self._background.acquire()
            await self._lanes.acquire()
            return
        wait = request.extensions.get("timeout", {}).get("pool")
        try:
            async with asyncio.timeout(wait):  # one deadline for the budget and the lane
                if background:
                    await self._background.acquire()
                try:
                    await self._lanes.acquire()
                except BaseException:
                    if background:
                        self._background.release()
                    raise
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection to the panel", request=request) from None

    def _give_back(self, background: bool) -> None:
        self._lanes.release()
        if background:
            self._background.release()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        background = not request.extensions.get(URGENT, False)
        await self._take_lane(request, background)
        try:
            return await self._send(request)
        finally:
            self._give_back(background)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("connect"),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        body = await request.aread()
        with _as_httpx_errors(request):
            async with self._open().request(
                request.method,
                URL(str(request.url), encoded=True),  # httpx has encoded it already
                headers=request.headers.multi_items(),
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
            ) as answer:
                content = await answer.read()
        return httpx.Response(
            answer.status,
            headers=answer.raw_headers,
            stream=httpx.ByteStream(content),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (answer.reason or "").encode(),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """aiohttp's errors as httpx's, most specific first; only a failed connection says the
    request never left."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(str(exc), request=request) from exc
    except aiohttp.ServerTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from exc
    except aiohttp.ClientPayloadError as exc:
        raise httpx.ReadError(str(exc), request=request) from exc
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientResponseError) as exc:
        raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__, request=request) from exc
    except aiohttp.ClientError as exc:
        raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
