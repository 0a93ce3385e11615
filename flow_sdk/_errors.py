"""The one exception hierarchy of flow_sdk and the one place HTTP failures become exceptions.

::

    FlowSDKError                         SDK-level problems (bad input, unexpected answers)
    ├── ConfigurationError               a required setting is missing (also a ValueError)
    ├── PlatformClientError              any other platform API error
    │   ├── ExecutionTimeoutError        an execution did not finish in time (also a TimeoutError)
    │   ├── PlatformAuthenticationError  401
    │   ├── PlatformPermissionError      403
    │   ├── PlatformNotFoundError        404
    │   └── PlatformExecutionError       500 (and a failed execution)
    ├── GatewayClientError               any other AI gateway error
    │   ├── GatewayAuthError             401 / 403
    │   ├── GatewayModelNotFoundError    404
    │   ├── GatewayRateLimitError        429
    │   ├── GatewayProviderError         502
    │   └── GatewayStreamError           an SSE stream reported an error or was cut mid-way
    └── CLIClientError                   errors raised by the synchronous CLIClient
        └── CLIAuthenticationError       401, or a failed key exchange / login

Every HTTP error carries ``status_code``, ``detail``, ``code``, ``request_id``, ``method`` and ``path``.
Messages are built from the server's error body and the request line only, so a bearer token never
appears in them.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from typing import Any, Literal, cast

import httpx

__all__ = [
    "CLIAuthenticationError",
    "CLIClientError",
    "ConfigurationError",
    "ExecutionTimeoutError",
    "FlowSDKError",
    "GatewayAuthError",
    "GatewayClientError",
    "GatewayModelNotFoundError",
    "GatewayProviderError",
    "GatewayRateLimitError",
    "GatewayStreamError",
    "PlatformAuthenticationError",
    "PlatformClientError",
    "PlatformExecutionError",
    "PlatformNotFoundError",
    "PlatformPermissionError",
    "error_class_for",
    "error_from_item",
    "error_from_response",
    "error_from_transport",
    "map_http_error",
    "raise_for_response",
    "translate_errors",
]

ErrorFamily = Literal["platform", "gateway", "cli"]


class FlowSDKError(Exception):
    """Base class of every error raised by flow_sdk.

    Attributes:
        status_code: HTTP status of the failed response, or None when there was no response.
        detail: The server's ``detail`` text (or the SDK's own explanation).
        code: The server's machine-readable error ``code``, if any.
        request_id: The ``X-Request-Id`` of the failed request, if any.
        method: HTTP method of the failed request, if any.
        path: URL path of the failed request, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        detail: str | None = None,
        code: str | None = None,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.detail = detail if detail is not None else message
        self.code = code
        self.request_id = request_id
        self.method = method
        self.path = path

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r})"


class ConfigurationError(FlowSDKError, ValueError):
    """A required setting (org id, token, URL, ring id...) is neither passed nor in the environment."""

    @classmethod
    def missing(cls, env_var: str, argument: str) -> ConfigurationError:
        """Build the error for a missing setting, naming the variable and the argument."""
        return cls(
            f"{env_var} is not set: pass {argument}= or export {env_var}", code="missing_configuration"
        )


class PlatformClientError(FlowSDKError):
    """A platform API call failed (base class of the Platform*Error family)."""


class ExecutionTimeoutError(PlatformClientError, TimeoutError):
    """An execution did not reach a terminal state within ``timeout_seconds``.

    Attributes:
        execution_id: The execution that was awaited.
        last_status: The last status document seen (None if none was seen).
    """

    def __init__(self, message: str, *, execution_id: str, last_status: dict[str, Any] | None) -> None:
        super().__init__(message, code="execution_timeout")
        self.execution_id = execution_id
        self.last_status = last_status


class PlatformAuthenticationError(PlatformClientError):
    """401: the token is missing, invalid or expired."""


class PlatformPermissionError(PlatformClientError):
    """403: the token lacks a required scope or tenant access."""


class PlatformNotFoundError(PlatformClientError):
    """404: the resource does not exist (or is not visible to this token)."""


class PlatformExecutionError(PlatformClientError):
    """500, or an execution that finished as failed.

    Attributes:
        execution_id: The failed execution, when raised for an execution result.
        remote_traceback: The traceback text reported by the runner, if any.
        result: The full result envelope of the failed execution, if any.
    """

    execution_id: str | None = None
    remote_traceback: str | None = None
    result: dict[str, Any] | None = None


class GatewayClientError(FlowSDKError):
    """An AI gateway call failed (base class of the Gateway*Error family)."""


class GatewayAuthError(GatewayClientError):
    """401/403: the gateway rejected the credentials."""


class GatewayModelNotFoundError(GatewayClientError):
    """404: the model (or route) does not exist."""


class GatewayRateLimitError(GatewayClientError):
    """429: rate limited, after the SDK's own retries."""


class GatewayProviderError(GatewayClientError):
    """502: the upstream model provider failed."""


class GatewayStreamError(GatewayClientError):
    """A streamed completion reported ``event: error`` or the connection was cut mid-stream."""


class CLIClientError(FlowSDKError):
    """A CLIClient call failed."""


class CLIAuthenticationError(CLIClientError):
    """401, or a failed API-key exchange or login."""


_PLATFORM_BY_STATUS: dict[int, type[PlatformClientError]] = {
    401: PlatformAuthenticationError,
    403: PlatformPermissionError,
    404: PlatformNotFoundError,
    500: PlatformExecutionError,
}
_GATEWAY_BY_STATUS: dict[int, type[GatewayClientError]] = {
    401: GatewayAuthError,
    403: GatewayAuthError,
    404: GatewayModelNotFoundError,
    429: GatewayRateLimitError,
    502: GatewayProviderError,
}
_CLI_BY_STATUS: dict[int, type[CLIClientError]] = {401: CLIAuthenticationError}
_BASE_BY_FAMILY: dict[ErrorFamily, type[FlowSDKError]] = {
    "platform": PlatformClientError,
    "gateway": GatewayClientError,
    "cli": CLIClientError,
}


def error_class_for(status_code: int, family: ErrorFamily = "platform") -> type[FlowSDKError]:
    """Return the exception class documented for an HTTP status in one error family.

    Args:
        status_code: The HTTP status of the failed response.
        family: Which client family raised it: "platform", "gateway" or "cli".

    Returns:
        The most specific documented class, or the family's base class.
    """
    tables: dict[ErrorFamily, Mapping[int, type[FlowSDKError]]] = {
        "platform": _PLATFORM_BY_STATUS,
        "gateway": _GATEWAY_BY_STATUS,
        "cli": _CLI_BY_STATUS,
    }
    table = tables[family]
    cls: type[FlowSDKError] = table.get(status_code, _BASE_BY_FAMILY[family])
    return cls


def _parse_error_body(response: httpx.Response) -> tuple[str, str | None]:
    """Return (detail, code) from the spec's error body, tolerating any other body."""
    try:
        body = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        fields = cast("dict[str, Any]", body)
        raw: Any = fields.get("detail")
        nested: Any = fields.get("error")
        if isinstance(nested, dict):
            raw = raw or cast("dict[str, Any]", nested).get("message")
        detail = raw if isinstance(raw, str) else json.dumps(raw) if raw is not None else ""
        code: Any = fields.get("code")
        return detail or response.reason_phrase, code if isinstance(code, str) else None
    text = response.text.strip()[:500] if response.content else ""
    return text or response.reason_phrase, None


def _request_line(
    response_or_request: httpx.Response | httpx.Request | None,
) -> tuple[str | None, str | None]:
    """Return (method, path) of the request behind a response, without query or credentials."""
    request: httpx.Request | None
    if isinstance(response_or_request, httpx.Response):
        try:
            request = response_or_request.request
        except RuntimeError:
            request = None
    else:
        request = response_or_request
    if request is None:
        return None, None
    return request.method, request.url.path


def error_from_response(response: httpx.Response, family: ErrorFamily = "platform") -> FlowSDKError:
    """Build the typed exception for a failed (4xx/5xx) HTTP response.

    Args:
        response: The failed response (its body must already be read).
        family: Which client family raised it: "platform", "gateway" or "cli".

    Returns:
        The exception instance; the caller raises it ``from`` the original error.
    """
    detail, code = _parse_error_body(response)
    method, path = _request_line(response)
    request_id = response.headers.get("x-request-id")
    return _typed_error(response.status_code, detail, code, request_id, method, path, family)


def error_from_item(status_code: int, error: Mapping[str, Any] | None, where: str) -> FlowSDKError:
    """Build the typed exception of one failed item of a batch answer (its status and `Error` object).

    Args:
        status_code: The status the item would have been answered with on its own.
        error: The item's `Error` object, if it has one.
        where: ``METHOD path`` of the batch request.
    """
    fields = dict(error or {})
    detail = str(fields.get("detail") or "the submission was refused")
    code, request_id = fields.get("code"), fields.get("request_id")
    method, _, path = where.partition(" ")
    return _typed_error(
        status_code,
        detail,
        code if isinstance(code, str) else None,
        request_id if isinstance(request_id, str) else None,
        method or None,
        path or None,
    )


def _typed_error(
    status_code: int,
    detail: str,
    code: str | None,
    request_id: str | None,
    method: str | None,
    path: str | None,
    family: ErrorFamily = "platform",
) -> FlowSDKError:
    """The documented exception for a failed answer, with the one message format of every such error."""
    cls = error_class_for(status_code, family)
    where = f"{method} {path}" if method else "request"
    message = f"{where} failed with HTTP {status_code}: {detail}"
    if code:
        message += f" [code={code}]"
    if request_id:
        message += f" (request_id={request_id})"
    return cls(
        message,
        status_code=status_code,
        detail=detail,
        code=code,
        request_id=request_id,
        method=method,
        path=path,
    )


def error_from_transport(exc: httpx.HTTPError, family: ErrorFamily = "platform") -> FlowSDKError:
    """Build the typed exception for a transport failure (connect error, timeout, protocol error).

    Args:
        exc: The httpx error.
        family: Which client family raised it: "platform", "gateway" or "cli".

    Returns:
        The family's base exception, carrying method and path but never headers.
    """
    request: httpx.Request | None
    try:
        request = exc.request
    except RuntimeError:
        request = None
    method, path = _request_line(request)
    where = f"{method} {path}" if method else "request"
    kind = type(exc).__name__
    message = f"{where} failed: {kind}: {exc}" if str(exc) else f"{where} failed: {kind}"
    return _BASE_BY_FAMILY[family](
        message, detail=f"{kind}: {exc}", code="transport_error", method=method, path=path
    )


def raise_for_response(response: httpx.Response, family: ErrorFamily = "platform") -> None:
    """Raise the typed exception for a 4xx/5xx response; do nothing for a success.

    Args:
        response: The response (its body must already be read).
        family: Which client family raised it: "platform", "gateway" or "cli".

    Raises:
        FlowSDKError: The documented subclass for the status, raised from an ``httpx.HTTPStatusError``.
    """
    if response.status_code < 400:
        return
    error = error_from_response(response, family)
    original = httpx.HTTPStatusError(error.message, request=response.request, response=response)
    raise error from original


def map_http_error(
    source: httpx.Response | httpx.HTTPError, family: ErrorFamily = "platform"
) -> FlowSDKError:
    """Map a failed response or a transport error to its typed exception (the one mapping function).

    Args:
        source: A 4xx/5xx ``httpx.Response`` (body read), an ``httpx.HTTPStatusError`` or any other
            ``httpx.HTTPError`` (connect error, timeout, protocol error).
        family: Which client family raised it: "platform", "gateway" or "cli".

    Returns:
        The exception instance; raise it ``from`` the original.
    """
    if isinstance(source, httpx.Response):
        return error_from_response(source, family)
    if isinstance(source, httpx.HTTPStatusError):
        return error_from_response(source.response, family)
    return error_from_transport(source, family)


@contextmanager
def translate_errors(family: ErrorFamily = "platform") -> Generator[None]:
    """Translate any ``httpx.HTTPError`` raised inside the block into the typed exception, ``from`` it.

    Args:
        family: Which client family raised it: "platform", "gateway" or "cli".

    Yields:
        Nothing.
    """
    try:
        yield
    except httpx.HTTPError as exc:
        raise map_http_error(exc, family) from exc
