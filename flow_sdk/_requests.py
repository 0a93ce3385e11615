"""Send requests built by the generated endpoint modules, and map their failures in one place.

A facade method calls :func:`endpoint` to load ``flow_platform_client.api.<tag>.<operation>`` on first
use, builds the request with its ``_get_kwargs(...)``, and hands the result to :func:`send`.

Request bodies go through :func:`body_model`: the generated model's ``from_dict`` checks them (required
fields, enum values). When the model parses and serialises plain JSON unchanged (no date, UUID or file
fields anywhere in it), the checked dict itself is what ``_get_kwargs`` sends, which saves rebuilding it
with ``to_dict``; otherwise the model's own ``to_dict`` output is sent.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import attrs
import httpx

from flow_sdk._errors import ErrorFamily, FlowSDKError, map_http_error

__all__ = ["CheckedBody", "body_model", "endpoint", "parse_response", "send"]

MODELS_MODULE = "flow_platform_client.models"
# Words in a generated field type whose values ``from_dict``/``to_dict`` convert (so JSON changes form).
CONVERTED_TYPE_WORDS = frozenset({"datetime", "date", "time", "UUID", "File"})
_TYPE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_ENDPOINTS: dict[str, ModuleType] = {}
_MODEL_CLASSES: dict[str, type] = {}
_JSON_ROUND_TRIPS: dict[type, bool] = {}


def endpoint(tag: str, operation: str) -> ModuleType:
    """Return the generated endpoint module ``flow_platform_client.api.<tag>.<operation>``, cached.

    Args:
        tag: The OpenAPI tag (sub-package), e.g. ``"executions"``.
        operation: The snake_case operationId, e.g. ``"submit_execution"``.
    """
    name = f"flow_platform_client.api.{tag}.{operation}"
    module = _ENDPOINTS.get(name)
    if module is None:
        module = importlib.import_module(name)
        _ENDPOINTS[name] = module
    return module


class CheckedBody:
    """A request body already checked by its generated model, sent as the plain dict it was built from.

    ``_get_kwargs(body=...)`` only calls ``to_dict()``, which returns the checked dict without a rebuild.
    Attribute reads fall through to the generated model instance.

    Attributes:
        model: The generated attrs model built by ``from_dict``.
    """

    __slots__ = ("_data", "model")

    def __init__(self, model: Any, data: dict[str, Any]) -> None:
        self.model = model
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def __repr__(self) -> str:
        return f"CheckedBody({self.model!r})"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON body: the checked dict (it equals the model's ``to_dict()``)."""
        return self._data


def model_class(model_name: str) -> type:
    """Return the class ``model_name`` of ``flow_platform_client.models``, cached after the first lookup.

    Raises:
        AttributeError: No generated model has that name.
    """
    cls = _MODEL_CLASSES.get(model_name)
    if cls is None:
        cls = getattr(importlib.import_module(MODELS_MODULE), model_name)
        _MODEL_CLASSES[model_name] = cls
    return cls


def json_round_trips(cls: type) -> bool:
    """Whether ``cls.from_dict(data).to_dict()`` gives back plain JSON ``data`` unchanged (cached).

    True unless the model, or a model nested in it, has a field that ``from_dict`` converts (a date,
    date-time, UUID or file); other fields, unknown keys and enum values pass through as they are.
    """
    known = _JSON_ROUND_TRIPS.get(cls)
    if known is None:
        known = _fields_round_trip(cls, set())
        _JSON_ROUND_TRIPS[cls] = known
    return known


def _fields_round_trip(cls: type, seen: set[type]) -> bool:
    """The uncached check of :func:`json_round_trips`; ``seen`` stops recursive schemas."""
    if cls in seen:
        return True
    seen.add(cls)
    models = importlib.import_module(MODELS_MODULE)
    for field in attrs.fields(cls):
        for word in _TYPE_WORD.findall(str(field.type)):
            if word in CONVERTED_TYPE_WORDS:
                return False
            nested = getattr(models, word, None)
            if isinstance(nested, type) and attrs.has(nested) and not _fields_round_trip(nested, seen):
                return False
    return True


def body_model(model_name: str, data: Mapping[str, Any]) -> Any:
    """Check a request body against the generated attrs model ``model_name``, with a clear error if invalid.

    Args:
        model_name: Class name in ``flow_platform_client.models`` (e.g. ``"ExecutionSubmit"``).
        data: The request body as a dict; keys whose value is None are dropped.

    Returns:
        An object for the generated ``_get_kwargs(body=...)``: a :class:`CheckedBody` carrying the
        checked dict when the model keeps plain JSON unchanged, else the generated model itself.

    Raises:
        FlowSDKError: The body does not fit the schema (missing field, bad enum value).
    """
    cls = model_class(model_name)
    clean = {key: value for key, value in data.items() if value is not None}
    try:
        model = cls.from_dict(clean)  # type: ignore[attr-defined]
    except (KeyError, TypeError, ValueError) as exc:
        raise FlowSDKError(f"invalid {model_name} request body: {exc!s}", code="invalid_request") from exc
    return CheckedBody(model, clean) if json_round_trips(cls) else model


def parse_response(response: httpx.Response) -> Any:
    """Return parsed JSON for an ``application/json`` response, None for an empty one, else bytes."""
    if response.status_code == 204 or not response.content:
        return None
    content_type = response.headers.get("content-type", "")
    if "json" in content_type:
        return json.loads(response.content)
    return response.content


async def send(
    client: httpx.AsyncClient,
    kwargs: Mapping[str, Any],
    *,
    family: ErrorFamily = "platform",
    extra_headers: Mapping[str, str] | None = None,
) -> Any:
    """Send one request described by a generated ``_get_kwargs`` dict and return its parsed body.

    Args:
        client: The pooled client (auth, retries and base URL are already on it).
        kwargs: ``method``, ``url`` and optionally ``params``, ``json``, ``content``, ``headers``.
        family: Error family used to map a failure.
        extra_headers: Headers merged over the generated ones.

    Returns:
        Parsed JSON, raw bytes, or None for an empty answer.

    Raises:
        FlowSDKError: The typed error for the status or transport failure, raised from the original.
    """
    request_kwargs = kwargs
    if extra_headers:
        headers = {**(kwargs.get("headers") or {}), **extra_headers}
        request_kwargs = {**kwargs, "headers": headers}
    try:
        response = await client.request(**request_kwargs)
    except httpx.HTTPError as exc:
        raise map_http_error(exc, family) from exc
    if response.status_code >= 400:
        error = map_http_error(response, family)
        raise error from httpx.HTTPStatusError(error.message, request=response.request, response=response)
    return parse_response(response)
