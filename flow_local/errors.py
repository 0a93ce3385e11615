"""Typed API errors and the one renderer that turns every failure into the spec's `Error` body.

Areas raise :class:`ApiError` (or one of the helpers below); :func:`install_error_handlers` renders
it, validation errors of parameters and bodies (as 400 naming the field) and HTTP errors (unknown
routes, refused methods, bodies past their limit), always with the request id.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
}


# Statuses that tell the client whether sending the same request again can succeed: refusals made
# before any work (rate limit, unavailable) may; a request the platform judged wrong will not change.
_RETRY_HINTS = {429: "true", 503: "true"}
_FINAL_4XX = frozenset({400, 401, 403, 404, 405, 409, 410, 413, 415, 422})


def retry_hint(status: int) -> str | None:
    """The ``x-should-retry`` value for an error status, or None when the client's own rule decides."""
    if status in _RETRY_HINTS:
        return _RETRY_HINTS[status]
    return "false" if status in _FINAL_4XX else None


class ApiError(Exception):
    """An error answer: HTTP status, machine code, a sentence for a person, the field at fault."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.headers = headers or {}


def bad_request(detail: str, field: str | None = None) -> ApiError:
    """A 400 `validation_error` naming the field."""
    return ApiError(400, "validation_error", detail, field)


def unauthorized(detail: str) -> ApiError:
    """A 401: no valid bearer token."""
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def forbidden(detail: str) -> ApiError:
    """A 403: the token does not allow this."""
    return ApiError(403, "forbidden", detail)


def not_found(what: str, ident: str) -> ApiError:
    """A 404 for ``what`` (e.g. ``"component"``) with id ``ident``."""
    return ApiError(404, "not_found", f"{what} '{ident}' not found")


def conflict(detail: str) -> ApiError:
    """A 409: the resource exists already."""
    return ApiError(409, "conflict", detail)


def request_id_of(request: Request) -> str:
    """The id the request-id middleware gave this request."""
    scope_state = request.scope.get("state") or {}
    return str(scope_state.get("request_id") or getattr(request.state, "request_id", "") or "req_unknown")


def _error_fields(code: str, detail: str, request_id: str, field: str | None) -> dict[str, Any]:
    """The spec's `Error` object; the one place an error body is built."""
    return {"detail": detail, "code": code, "request_id": request_id, "field": field}


def error_body(exc: ApiError, request_id: str) -> dict[str, Any]:
    """The `Error` object of ``exc`` where it is part of an answer (one item of a batch)."""
    return _error_fields(exc.code, exc.detail, request_id, exc.field)


def error_response(
    request: Request,
    status: int,
    code: str,
    detail: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Render the spec's `Error` object as an answer."""
    request_id = request_id_of(request)
    body = _error_fields(code, detail, request_id, field)
    all_headers = {"X-Request-Id": request_id, **(headers or {})}
    hint = retry_hint(status)
    if hint is not None:
        all_headers.setdefault("x-should-retry", hint)
    return JSONResponse(body, status_code=status, headers=all_headers)


def _validation_field(error: dict[str, Any]) -> str | None:
    """The dotted field name of a pydantic error location, without the `body`/`query` prefix."""
    loc = [str(part) for part in error.get("loc", ())]
    if loc and loc[0] in {"body", "query", "path", "header", "cookie"}:
        loc = loc[1:]
    return ".".join(loc) or None


def _validation_detail(exc: RequestValidationError) -> tuple[str, str | None]:
    """A sentence naming the first wrong field, and that field."""
    errors = list(exc.errors())
    if not errors:
        return "the request is malformed", None
    first = errors[0]
    field = _validation_field(first)
    message = str(first.get("msg", "is invalid"))
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    if field is None:
        return f"request body: {message}", None
    return f"field '{field}': {message}", field


async def _api_error(request: Request, exc: Exception) -> Response:
    """An :class:`ApiError` an area raised."""
    assert isinstance(exc, ApiError)
    return error_response(request, exc.status, exc.code, exc.detail, exc.field, exc.headers)


async def _validation(request: Request, exc: Exception) -> Response:
    """A parameter or body that failed its check in the document: 400 naming the field."""
    assert isinstance(exc, RequestValidationError)
    detail, field = _validation_detail(exc)
    return error_response(request, 400, "validation_error", detail, field)


async def _http(request: Request, exc: Exception) -> Response:
    """An HTTP error raised by the routing or a layer (404, 405, 413, ...)."""
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES.get(exc.status_code, "error")
    detail = str(exc.detail) if exc.detail else code
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route for {request.method} {request.url.path}"
    return error_response(request, exc.status_code, code, detail, None, dict(exc.headers or {}))


def install_error_handlers(app: Starlette) -> None:
    """Register the renderers for ApiError, validation errors and HTTP errors on ``app``.

    Crashes are answered by :class:`flow_local.middleware.PlatformMiddleware` (a 500 `Error`).
    """
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
