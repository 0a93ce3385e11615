"""``with_raw_response``: the HTTP answer (status, headers, request id) next to a call's parsed result.

Every client has a ``with_raw_response`` view with the same namespaces and methods; a call through it
returns a :class:`RawResponse` whose ``parsed`` is what the plain call returns::

    raw = await flow.with_raw_response.storage.list("reports/")
    print(raw.status_code, raw.request_id, raw.headers["content-type"])
    objects = raw.parsed

For a call that sends several requests (``run`` submits, then polls), ``http_response`` is the last one.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from flow_sdk._requests import RECORDED_RESPONSES, record_response

__all__ = ["RawResponse", "RawResponseView", "record_response"]

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class RawResponse(Generic[ResultT]):
    """A call's parsed result and the HTTP answer it came from.

    Attributes:
        parsed: What the call returns without ``with_raw_response``.
        http_response: The (last) ``httpx.Response`` of the call.
    """

    parsed: ResultT
    http_response: httpx.Response

    @property
    def status_code(self) -> int:
        """The HTTP status."""
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The answer's headers."""
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """The platform's ``X-Request-Id`` for the request, if it sent one."""
        value = self.http_response.headers.get("x-request-id")
        return None if value is None else str(value)


class RawResponseView:
    """The same namespaces and methods as the wrapped client, each call returning a :class:`RawResponse`."""

    def __init__(self, target: object) -> None:
        self._target = target

    def __repr__(self) -> str:
        return f"<RawResponseView of {self._target!r}>"

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if inspect.iscoroutinefunction(attribute):
            return _async_call(attribute)
        if callable(attribute):
            return _sync_call(attribute)
        return RawResponseView(attribute)


def _async_call(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def call(*args: Any, **kwargs: Any) -> RawResponse[Any]:
        sink: list[httpx.Response] = []
        token = RECORDED_RESPONSES.set(sink)
        try:
            parsed = await method(*args, **kwargs)
        finally:
            RECORDED_RESPONSES.reset(token)
        return _raw(parsed, sink, method)

    return call


def _sync_call(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> RawResponse[Any]:
        sink: list[httpx.Response] = []
        token = RECORDED_RESPONSES.set(sink)
        try:
            parsed = method(*args, **kwargs)
        finally:
            RECORDED_RESPONSES.reset(token)
        return _raw(parsed, sink, method)

    return call


def _raw(parsed: Any, sink: list[httpx.Response], method: Callable[..., Any]) -> RawResponse[Any]:
    if not sink:
        raise TypeError(f"{method.__qualname__} sends no HTTP request; it has no raw response")
    return RawResponse(parsed, sink[-1])
