"""Send what the generated request builders describe, and read the answers, in one place.

A facade method imports the builder it needs (``from flow_sdk._generated.client.storage import
build_upload_storage_object_request``), calls it with typed arguments and hands the
:class:`~flow_sdk._generated.client.request.ApiRequest` to :func:`send` (async) or :func:`send_sync`.
The result type of the builder is the result type of the call: mypy follows it from the document.

As in httpx, everything that does no I/O is shared (:func:`request_options`, :func:`read_result`);
the two twins only send.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import httpx

from flow_sdk._errors import ErrorFamily, FlowSDKError, map_http_error

if TYPE_CHECKING:
    from flow_sdk._generated.client.request import ApiRequest

__all__ = [
    "RECORDED_RESPONSES",
    "RETRY_EXTENSION",
    "RetryMode",
    "checked_body",
    "choose",
    "new_idempotency_key",
    "parse_response",
    "read_result",
    "record_response",
    "request_options",
    "send",
    "send_sync",
]

ResultT = TypeVar("ResultT")
RetryMode = Literal["safe", "connect", "resend"]
"""``safe``: retry idempotent requests and POSTs with an Idempotency-Key; ``connect``: only failures to
connect; ``resend``: any request the document says may be sent again as it is (a batch of submissions,
each with its own idempotency key)."""
RETRY_EXTENSION = "flow_retry"
RECORDED_RESPONSES: ContextVar[list[httpx.Response] | None] = ContextVar(
    "flow_sdk_raw_responses", default=None
)
"""Where the answers of the ``with_raw_response`` call running in this context go (None: no such call)."""


def record_response(response: httpx.Response) -> None:
    """Keep ``response`` for the ``with_raw_response`` call running in this context, if any.

    It lives here, with the sending, so that a plain call does not load :mod:`flow_sdk.raw_response`.
    """
    sink = RECORDED_RESPONSES.get()
    if sink is not None:
        sink.append(response)


def request_options(
    api: ApiRequest[Any], extra_headers: Mapping[str, str] | None = None, retry: RetryMode | None = None
) -> dict[str, Any]:
    """Return the keyword arguments of ``httpx.Client.request`` for a built request (no I/O).

    Args:
        api: What the builder returned.
        extra_headers: Headers merged over the builder's.
        retry: A retry mode other than the transport's default, carried as a request extension.
    """
    options: dict[str, Any] = {}
    if api.params:
        options["params"] = api.params
    if api.has_json:
        options["json"] = api.json
    if api.content is not None:
        options["content"] = api.content
    headers = api.headers
    if extra_headers:
        headers = {**headers, **extra_headers} if headers else dict(extra_headers)
    if headers:
        options["headers"] = headers
    if retry is not None:
        options["extensions"] = {RETRY_EXTENSION: retry}
    return options


def parse_response(response: httpx.Response) -> Any:
    """Return parsed JSON for an ``application/json`` response, None for an empty one, else bytes."""
    if response.status_code == 204 or not response.content:
        return None
    if "json" in response.headers.get("content-type", ""):
        return json.loads(response.content)
    return response.content


def read_result(api: ApiRequest[ResultT], response: httpx.Response, family: ErrorFamily) -> ResultT:
    """Return the answer as the builder's result type, or raise the typed error for a 4xx/5xx.

    Raises:
        FlowSDKError: The mapped error, raised from an ``httpx.HTTPStatusError``.
    """
    if response.status_code >= 400:
        error = map_http_error(response, family)
        raise error from httpx.HTTPStatusError(error.message, request=response.request, response=response)
    if api.response == "bytes":
        return cast(ResultT, response.content)
    if api.response == "empty":
        return cast(ResultT, None)
    return cast(ResultT, parse_response(response))


async def send(
    client: httpx.AsyncClient,
    api: ApiRequest[ResultT],
    *,
    family: ErrorFamily = "platform",
    extra_headers: Mapping[str, str] | None = None,
    retry: RetryMode | None = None,
) -> ResultT:
    """Send one built request with an async client and return its typed result.

    Raises:
        FlowSDKError: The typed error for the status or transport failure, raised from the original.
    """
    try:
        response = await client.request(api.method, api.path, **request_options(api, extra_headers, retry))
    except httpx.HTTPError as exc:
        raise map_http_error(exc, family) from exc
    record_response(response)
    return read_result(api, response, family)


def send_sync(
    client: httpx.Client,
    api: ApiRequest[ResultT],
    *,
    family: ErrorFamily = "cli",
    extra_headers: Mapping[str, str] | None = None,
    retry: RetryMode | None = None,
) -> ResultT:
    """Send one built request with a sync client and return its typed result (see :func:`send`)."""
    try:
        response = client.request(api.method, api.path, **request_options(api, extra_headers, retry))
    except httpx.HTTPError as exc:
        raise map_http_error(exc, family) from exc
    record_response(response)
    return read_result(api, response, family)


BodyT = TypeVar("BodyT")
ValueT = TypeVar("ValueT", bound=str)


def checked_body(data: Mapping[str, Any], schema: type[BodyT]) -> BodyT:
    """Return a caller's dict as the request body TypedDict ``schema``, after checking its required keys.

    Raises:
        FlowSDKError: A required key is missing; the message names the body and the keys.
    """
    if not isinstance(data, Mapping):
        raise FlowSDKError(
            f"invalid {schema.__name__} request body: expected a dict, got {type(data).__name__}",
            code="invalid_request",
        )
    required: frozenset[str] = getattr(schema, "__required_keys__", frozenset())
    missing = sorted(required - data.keys())
    if missing:
        raise FlowSDKError(
            f"invalid {schema.__name__} request body: missing {', '.join(missing)}", code="invalid_request"
        )
    return cast(BodyT, data)


def choose(value: str, allowed: tuple[ValueT, ...], what: str) -> ValueT:
    """Return ``value`` as one of the document's enum values ``allowed``.

    Raises:
        FlowSDKError: ``value`` is not allowed; the message names ``what`` and the allowed values.
    """
    from flow_sdk._generated.client.enums import one_of  # the enums load with the first call that checks one

    try:
        return one_of(value, allowed, what)
    except ValueError as exc:
        raise FlowSDKError(str(exc), code="invalid_request") from None


def new_idempotency_key() -> str:
    """A fresh Idempotency-Key: the platform runs a submission once however often it is retried."""
    return os.urandom(16).hex()
