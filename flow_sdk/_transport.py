"""The one place that builds httpx clients: base URL, bearer auth, timeouts, billing headers, proxies,
logging and retries.

Retries live in a wrapper transport (:class:`AsyncRetryTransport` / :class:`SyncRetryTransport`), so every
request of every client gets the same policy, and only what is safe to send again is sent again:

- a failure to connect (nothing was sent) is retried for every request;
- HTTP 429 (refused before any work was done) is retried for every request;
- other transport errors and HTTP 408, 500, 502, 503 and 504 are retried only for idempotent methods
  (GET, PUT, DELETE, ...) and for requests carrying an ``Idempotency-Key`` (the submissions whose
  operations declare that header; the platform runs them once however often they arrive);
- a request marked ``retry="connect"`` (a call to a user's hosted service) is retried only when the
  connection failed, and one marked ``retry="resend"`` (a batch of submissions, each carrying its own
  idempotency key) like an idempotent one;
- an ``x-should-retry: true`` / ``false`` answer header overrides the status rule.

Waits use exponential backoff with full jitter, honouring ``Retry-After``. A retried request is the very
same request, so its Idempotency-Key stays the same. Each retry is logged at INFO on the ``flow_sdk``
logger with the request id; each request and answer at DEBUG, credentials redacted.

The async and sync variants share :class:`RetryPolicy` and :func:`build_client_options`; only the
sending and sleeping differ. Environment proxies (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``,
``NO_PROXY``) are honoured as httpx itself would, also when our retry transport is installed.
"""

from __future__ import annotations

import inspect
import ipaddress
import os
import random
import time
import urllib.request
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from email.utils import parsedate_to_datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import httpx

from flow_sdk._logging import log_request, log_response, logger
from flow_sdk._metadata import DISTRIBUTION, version
from flow_sdk._requests import RETRY_EXTENSION

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT_SECONDS",
    "RETRYABLE_STATUS_CODES",
    "TIMEOUT_ENV_VAR",
    "AsyncHttpSession",
    "AsyncRetryTransport",
    "BearerAuth",
    "ClientTransport",
    "RetryPolicy",
    "SyncClientTransport",
    "SyncRetryTransport",
    "TokenRefresher",
    "billing_headers",
    "build_async_client",
    "build_client_options",
    "build_sync_client",
    "environment_proxies",
    "resolve_timeout",
]

DEFAULT_TIMEOUT_SECONDS = 300.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_CONNECTIONS = 6
"""Connections per pool: keep-alive connections carry thousands of short requests per second, awaited
execution results share one held request, and a request beyond the limit waits for a free connection."""
TIMEOUT_ENV_VAR = "FLOW_HTTP_TIMEOUT_SECONDS"
RETRYABLE_STATUS_CODES = frozenset({408, 429, 500, 502, 503, 504})
IDEMPOTENCY_HEADER = "Idempotency-Key"
CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout)


@cache
def user_agent() -> str:
    """The ``User-Agent`` of every request: distribution, version, Python and OS (computed on first use,
    so importing the SDK reads no package metadata and does not load :mod:`platform`)."""
    import platform

    return (
        f"{DISTRIBUTION}/{version()} Python/{platform.python_version()} "
        f"{platform.system() or 'unknown'}/{platform.release() or 'unknown'}"
    )


TokenRefresher = Callable[[], "str | Awaitable[str]"]


async def async_sleep(seconds: float) -> None:
    """Sleep between async retries (a module function so tests can patch it)."""
    import asyncio  # loaded with the first retry, not with the SDK

    await asyncio.sleep(seconds)


def sync_sleep(seconds: float) -> None:
    """Sleep between sync retries (a module function so tests can patch it)."""
    time.sleep(seconds)


class RetryPolicy:
    """When to retry and how long to wait; shared by the async and sync transports.

    Attributes:
        max_retries: Retries after the first attempt (0 disables retrying).
        idempotency_key: Replaces the fresh ``Idempotency-Key`` of a request that carries one (a key
            chosen by the caller with ``with_options(idempotency_key=...)``).
        base_delay: Backoff base in seconds; attempt n waits up to ``base_delay * 2**n``.
        max_delay: Upper bound of any single wait, including one asked for by ``Retry-After``.
        rng: The source of the jitter.

    A plain class rather than a dataclass: building a dataclass costs more at import than the rest of
    this module.
    """

    def __init__(
        self,
        max_retries: int = DEFAULT_MAX_RETRIES,
        idempotency_key: str | None = None,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        self.max_retries = max_retries
        self.idempotency_key = idempotency_key
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.rng = rng or random.Random()

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(max_retries={self.max_retries!r}, idempotency_key={self.idempotency_key!r}, "
            f"base_delay={self.base_delay!r}, max_delay={self.max_delay!r})"
        )

    def should_retry_status(self, status_code: int) -> bool:
        """Return True when a response with this status is worth another attempt (if resending is safe)."""
        return status_code in RETRYABLE_STATUS_CODES

    def apply_idempotency_key(self, request: httpx.Request) -> None:
        """Put the caller's chosen key on a request that carries an Idempotency-Key."""
        if self.idempotency_key is not None and IDEMPOTENCY_HEADER in request.headers:
            request.headers[IDEMPOTENCY_HEADER] = self.idempotency_key

    def retry_after_error(self, request: httpx.Request, error: httpx.TransportError, attempt: int) -> bool:
        """Whether to send ``request`` again after a transport failure (see the module docstring)."""
        if attempt >= self.max_retries:
            return False
        if isinstance(error, CONNECT_ERRORS):
            return True
        return _retry_mode(request) != "connect" and _may_resend(request)

    def retry_after_response(self, request: httpx.Request, response: httpx.Response, attempt: int) -> bool:
        """Whether to send ``request`` again after ``response`` (see the module docstring)."""
        if response.status_code < 400:  # a success or a redirect is never sent again
            return False
        if attempt >= self.max_retries or _retry_mode(request) == "connect":
            return False
        hint = response.headers.get("x-should-retry")
        if hint == "true":
            return True
        if hint == "false":
            return False
        if response.status_code == 429:  # refused before any work was done: safe to send again
            return True
        return self.should_retry_status(response.status_code) and _may_resend(request)

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Return the wait before retry number ``attempt`` (0-based).

        Args:
            attempt: How many retries already happened.
            response: The retryable response, whose ``Retry-After`` wins when present.

        Returns:
            Seconds to wait.
        """
        retry_after = parse_retry_after(response.headers.get("retry-after")) if response is not None else None
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return self.rng.uniform(0.0, ceiling)


def parse_retry_after(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header (delta seconds or HTTP date) into seconds, or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _retry_mode(request: httpx.Request) -> str:
    mode = request.extensions.get(RETRY_EXTENSION)
    return mode if isinstance(mode, str) else "safe"


def _may_resend(request: httpx.Request) -> bool:
    """An idempotent method, or a request the server deduplicates by its Idempotency-Key."""
    from flow_sdk._generated.client.request import IDEMPOTENT_METHODS  # asked only after a failure

    if _retry_mode(request) == "resend":
        return True
    return request.method in IDEMPOTENT_METHODS or IDEMPOTENCY_HEADER in request.headers


def _log_retry(
    request: httpx.Request, attempt: int, limit: int, delay: float, why: str, request_id: str
) -> None:
    logger.info(
        "retrying %s %s in %.2f s (retry %d of %d) after %s (request_id=%s)",
        request.method,
        request.url.path,
        delay,
        attempt + 1,
        limit,
        why,
        request_id or "none",
    )


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """Wrap an async transport and retry what is safe to retry (see the module docstring)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, policy: RetryPolicy | None = None) -> None:
        self.inner = inner
        self.policy = policy or RetryPolicy()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, retrying safe failures."""
        self.policy.apply_idempotency_key(request)
        attempt = 0
        while True:
            log_request(request, attempt)
            try:
                response = await self.inner.handle_async_request(request)
            except httpx.TransportError as exc:
                if not self.policy.retry_after_error(request, exc, attempt):
                    raise
                delay = self.policy.delay(attempt)
                _log_retry(request, attempt, self.policy.max_retries, delay, type(exc).__name__, "")
                await async_sleep(delay)
                attempt += 1
                continue
            log_response(request, response)
            if not self.policy.retry_after_response(request, response, attempt):
                return response
            delay = self.policy.delay(attempt, response)
            request_id = response.headers.get("x-request-id", "")
            _log_retry(
                request, attempt, self.policy.max_retries, delay, f"HTTP {response.status_code}", request_id
            )
            await response.aclose()
            await async_sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self.inner.aclose()


class SyncRetryTransport(httpx.BaseTransport):
    """Wrap a sync transport and retry what is safe to retry (see the module docstring)."""

    def __init__(self, inner: httpx.BaseTransport, policy: RetryPolicy | None = None) -> None:
        self.inner = inner
        self.policy = policy or RetryPolicy()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, retrying safe failures."""
        self.policy.apply_idempotency_key(request)
        attempt = 0
        while True:
            log_request(request, attempt)
            try:
                response = self.inner.handle_request(request)
            except httpx.TransportError as exc:
                if not self.policy.retry_after_error(request, exc, attempt):
                    raise
                delay = self.policy.delay(attempt)
                _log_retry(request, attempt, self.policy.max_retries, delay, type(exc).__name__, "")
                sync_sleep(delay)
                attempt += 1
                continue
            log_response(request, response)
            if not self.policy.retry_after_response(request, response, attempt):
                return response
            delay = self.policy.delay(attempt, response)
            request_id = response.headers.get("x-request-id", "")
            _log_retry(
                request, attempt, self.policy.max_retries, delay, f"HTTP {response.status_code}", request_id
            )
            response.close()
            sync_sleep(delay)
            attempt += 1

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer`` auth whose token can be replaced in place, and refreshed once on a 401.

    The token never appears in ``repr``. A request that already carries an ``Authorization`` header (a
    forwarded caller token) keeps it. With a ``refresher``, a 401 answer to our own token makes the auth
    ask it for a new token once and replay the request once.
    """

    def __init__(self, token: str, refresher: TokenRefresher | None = None) -> None:
        self.token = token
        self.refresher = refresher

    def __repr__(self) -> str:
        return f"BearerAuth(token={'<set>' if self.token else '<unset>'})"

    def _authorize(self, request: httpx.Request, *, replace: bool = False) -> bool:
        """Set the bearer header unless the request already carries its own (a forwarded token).

        Returns:
            True when the header is ours (so a 401 may be answered by refreshing our token).
        """
        if "Authorization" in request.headers and not replace:
            return False
        if self.token:
            request.headers["Authorization"] = f"Bearer {self.token}"
        return True

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Authorize the request; on a 401, refresh the token once (sync refresher) and replay."""
        own = self._authorize(request)
        response = yield request
        if response.status_code != 401 or self.refresher is None or not own:
            return
        new_token = self.refresher()
        if inspect.isawaitable(new_token):
            raise TypeError("an async token refresher cannot be used with a sync client")
        self.token = new_token
        self._authorize(request, replace=True)
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Authorize the request; on a 401, refresh the token once and replay it once."""
        own = self._authorize(request)
        response = yield request
        if response.status_code != 401 or self.refresher is None or not own:
            return
        new_token = self.refresher()
        if inspect.isawaitable(new_token):
            new_token = await new_token
        await response.aclose()
        self.token = str(new_token)
        self._authorize(request, replace=True)
        yield request


def resolve_timeout(timeout: float | None, default: float = DEFAULT_TIMEOUT_SECONDS) -> float:
    """Return the request timeout: the argument, else ``FLOW_HTTP_TIMEOUT_SECONDS``, else ``default``.

    Raises:
        ValueError: If the value is not a positive number.
    """
    if timeout is None:
        raw = os.environ.get(TIMEOUT_ENV_VAR, "").strip()
        try:
            timeout = float(raw) if raw else default
        except ValueError:
            raise ValueError(f"{TIMEOUT_ENV_VAR} must be a number of seconds, got {raw!r}") from None
    if timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def billing_headers(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the billing context headers taken from ``PARENT_BILLING_TXN_ID`` and ``LIFECYCLE_EVENT``."""
    env = os.environ if environ is None else environ
    headers: dict[str, str] = {}
    if env.get("PARENT_BILLING_TXN_ID"):
        headers["X-Parent-Billing-Txn-Id"] = env["PARENT_BILLING_TXN_ID"]
    if env.get("LIFECYCLE_EVENT"):
        headers["X-Lifecycle-Event"] = env["LIFECYCLE_EVENT"]
    return headers


def build_client_options(
    base_url: str, auth: httpx.Auth, timeout: float, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Return the keyword arguments shared by the async and sync httpx clients (no I/O)."""
    merged = {"User-Agent": user_agent(), **billing_headers(), **dict(headers or {})}
    return {
        "base_url": base_url.rstrip("/"),
        "auth": auth,
        "timeout": httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        "headers": merged,
        "follow_redirects": False,
    }


def environment_proxies() -> dict[str, str | None]:
    """Return httpx mount patterns for the proxy environment variables (``None``: no proxy).

    The same reading as httpx's own when it builds its default transport: ``HTTP_PROXY``,
    ``HTTPS_PROXY`` and ``ALL_PROXY`` (upper or lower case), and ``NO_PROXY`` host names, IP
    addresses and domain suffixes, where ``*`` turns proxies off.
    """
    found = urllib.request.getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        url = found.get(scheme)
        if url:
            mounts[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    for host in (part.strip() for part in found.get("no", "").split(",")):
        if host == "*":
            return {}
        if host:
            mounts[_no_proxy_pattern(host)] = None
    return mounts


def _no_proxy_pattern(host: str) -> str:
    if "://" in host:
        return host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"all://{host}" if host.lower() == "localhost" else f"all://*{host}"
    return f"all://[{host}]" if address.version == 6 else f"all://{host}"


def default_async_transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """The aiohttp-backed transport when ``httpx-aiohttp`` is installed, else httpx's own pool.

    Imported here, on first use, so that importing the SDK does not load aiohttp.
    """
    try:
        from flow_sdk._aiohttp import aiohttp_transport
    except ImportError:
        return httpx.AsyncHTTPTransport(limits=limits)
    return aiohttp_transport(limits)


def build_async_client(
    base_url: str,
    auth: httpx.Auth,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    max_retries: int = DEFAULT_MAX_RETRIES,
    headers: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    idempotency_key: str | None = None,
) -> httpx.AsyncClient:
    """Build a pooled ``httpx.AsyncClient`` with auth, timeout, billing headers, proxies and retries.

    Without a ``transport`` (tests pass ``httpx.MockTransport``), the proxy environment variables are
    honoured: each proxy gets its own retrying transport, mounted as httpx would mount it.
    """
    policy = RetryPolicy(max_retries=max_retries, idempotency_key=idempotency_key)
    limits = httpx.Limits(max_connections=DEFAULT_MAX_CONNECTIONS)
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
    if transport is None:
        for pattern, proxy in environment_proxies().items():
            mounts[pattern] = (
                None
                if proxy is None
                else AsyncRetryTransport(httpx.AsyncHTTPTransport(proxy=proxy, limits=limits), policy)
            )
    inner = transport or default_async_transport(limits)
    return httpx.AsyncClient(
        transport=AsyncRetryTransport(inner, policy),
        mounts=mounts or None,
        **build_client_options(base_url, auth, timeout, headers),
    )


def build_sync_client(
    base_url: str,
    auth: httpx.Auth,
    *,
    timeout: float = 30.0,
    max_retries: int = DEFAULT_MAX_RETRIES,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    idempotency_key: str | None = None,
) -> httpx.Client:
    """Build an ``httpx.Client`` (for CLIClient) with the same options, proxies and retries as the async one."""
    policy = RetryPolicy(max_retries=max_retries, idempotency_key=idempotency_key)
    mounts: dict[str, httpx.BaseTransport | None] = {}
    if transport is None:
        for pattern, proxy in environment_proxies().items():
            mounts[pattern] = (
                None if proxy is None else SyncRetryTransport(httpx.HTTPTransport(proxy=proxy), policy)
            )
    inner = transport or httpx.HTTPTransport()
    return httpx.Client(
        transport=SyncRetryTransport(inner, policy),
        mounts=mounts or None,
        **build_client_options(base_url, auth, timeout, headers),
    )


class ClientTransport(httpx.AsyncBaseTransport):
    """Send through an ``httpx.AsyncClient`` the caller brought (``with_options(http_client=...)``).

    Requests arrive complete (absolute URL, auth header, timeouts); the caller's client adds its own
    transport, proxies, event hooks and limits. Closing this transport leaves the caller's client open.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` with the caller's client, leaving the body to be read by ours."""
        return await self.client.send(request, stream=True)


class SyncClientTransport(httpx.BaseTransport):
    """The sync twin of :class:`ClientTransport`, for ``CLIClient.with_options(http_client=...)``."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` with the caller's client, leaving the body to be read by ours."""
        return self.client.send(request, stream=True)


class AsyncHttpSession:
    """Pooled async clients per base URL and per running event loop, sharing one :class:`BearerAuth`.

    FlowSDK and PlatformClient each own one session; all their namespaces send through it. A client
    belongs to the event loop it was created in: a FlowSDK used by several ``asyncio.run`` calls in turn
    gets a fresh pool in each loop, and pools of loops that have closed are dropped (their sockets went
    with the loop). Replacing the token updates every cached client in place (they share the auth object).

    Attributes:
        auth: The shared bearer auth.
        timeout: Request timeout in seconds.
        max_retries: Retries per request.
        headers: Headers sent with every request (``with_options(extra_headers=...)``).
        transport: Optional inner transport (tests pass ``httpx.MockTransport``; a brought
            ``http_client`` is wrapped in :class:`ClientTransport`).
    """

    def __init__(
        self,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        refresher: TokenRefresher | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        self.auth = BearerAuth(token, refresher)
        self.idempotency_key = idempotency_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.transport = transport
        self.headers = dict(headers or {})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._derived: list[AsyncHttpSession] = []

    def derive(
        self,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> AsyncHttpSession:
        """Return a session with other options and its own pools, sharing this one's auth (and token).

        The derived session's pools are closed with this session's.
        """
        derived = AsyncHttpSession(
            "",
            timeout=resolve_timeout(timeout) if timeout is not None else self.timeout,
            max_retries=self.max_retries if max_retries is None else max_retries,
            transport=ClientTransport(http_client) if http_client is not None else self.transport,
            headers={**self.headers, **(headers or {})},
            idempotency_key=self.idempotency_key if idempotency_key is None else idempotency_key,
        )
        derived.auth = self.auth
        self._derived.append(derived)
        return derived

    def __repr__(self) -> str:
        return f"AsyncHttpSession(clients={sorted(self._clients)!r}, auth={self.auth!r})"

    def client(self, base_url: str) -> httpx.AsyncClient:
        """Return the pooled client for ``base_url`` in the running event loop, creating it on first use."""
        loop = _running_loop()
        if loop is not None and loop is not self._loop:
            self._loop = loop
            self._clients = {}  # the previous loop's pools cannot be used (or closed) from this one
        existing = self._clients.get(base_url)
        if existing is not None and not existing.is_closed:
            return existing
        created = build_async_client(
            base_url,
            self.auth,
            timeout=self.timeout,
            max_retries=self.max_retries,
            headers=self.headers,
            transport=self.transport,
            idempotency_key=self.idempotency_key,
        )
        self._clients[base_url] = created
        return created

    def sync_client(self, base_url: str) -> httpx.Client:
        """Return a new pooled ``httpx.Client`` for ``base_url`` with this session's auth and options.

        It shares the auth object, so :meth:`set_token` reaches it too; the caller closes it. A test's
        ``httpx.MockTransport`` serves it as well; a brought async client cannot, so it is not used.
        """
        return build_sync_client(
            base_url,
            self.auth,
            timeout=self.timeout,
            max_retries=self.max_retries,
            headers=self.headers,
            transport=self.transport if isinstance(self.transport, httpx.BaseTransport) else None,
            idempotency_key=self.idempotency_key,
        )

    def set_token(self, token: str) -> None:
        """Replace the bearer token of every cached (and future) client in place."""
        self.auth.token = token

    async def aclose(self) -> None:
        """Close every cached client of the running loop and of the derived sessions.

        Clients of a loop that is no longer running are dropped, not closed (their loop is gone).
        """
        derived, self._derived = self._derived, []
        for session in derived:
            await session.aclose()
        clients, self._clients = list(self._clients.values()), {}
        if self._loop is not None and self._loop is not _running_loop():
            return
        for cached in clients:
            await cached.aclose()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    import asyncio  # loaded on first use: importing the SDK does not load asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
