"""The default async transport: httpx's API over an aiohttp connection pool (``httpx-aiohttp``).

httpx driving aiohttp's pool spends far less client CPU per call than httpx's own pool (measured by
``nox -s bench``), so the SDK uses it whenever ``httpx-aiohttp`` is installed (a dependency of the
default install) and falls back to ``httpx.AsyncHTTPTransport`` otherwise. The module is imported only
when the first async client is built, so ``from flow_sdk import FlowSDK`` does not pay for aiohttp.

One correction to the upstream transport: it maps every aiohttp connection error to
``httpx.ConnectTimeout``, including a server that dropped the connection after the request was sent.
The retry policy resends any request after a failure to connect, so only a failure that happened
before anything was sent may look like one; the others become ``httpx.ReadError``.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


class FlowAiohttpTransport(AiohttpTransport):
    """``httpx_aiohttp.AiohttpTransport`` whose connect errors mean that nothing was sent."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; a connection lost after sending is a read error, not a connect error."""
        try:
            return await super().handle_async_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            cause = exc.__cause__
            message = str(exc) or type(cause).__name__
            if isinstance(cause, aiohttp.ConnectionTimeoutError):
                raise httpx.ConnectTimeout(message, request=request) from cause
            if isinstance(cause, aiohttp.ClientConnectorError):
                raise httpx.ConnectError(message, request=request) from cause
            raise httpx.ReadError(message, request=request) from cause


def aiohttp_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """An aiohttp-backed transport with ``limits`` (its session is created in the first request's loop)."""
    return FlowAiohttpTransport(limits=limits)
