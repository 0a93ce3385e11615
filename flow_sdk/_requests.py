"""Send requests built by the generated endpoint modules, and map their failures in one place.

A facade method calls :func:`endpoint` to load ``flow_platform_client.api.<tag>.<operation>`` on first
use, builds the request with its ``_get_kwargs(...)``, and hands the result to :func:`send`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import httpx

from flow_sdk._errors import ErrorFamily, FlowSDKError, map_http_error

__all__ = ["body_model", "endpoint", "parse_response", "send"]

_ENDPOINTS: dict[str, ModuleType] = {}


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


def body_model(model_name: str, data: Mapping[str, Any]) -> Any:
    """Build the generated attrs model ``model_name`` from a plain dict, with a clear error if invalid.

    Args:
        model_name: Class name in ``flow_platform_client.models`` (e.g. ``"ExecutionSubmit"``).
        data: The request body as a dict; keys whose value is None are dropped.

    Raises:
        FlowSDKError: The body does not fit the schema (missing field, bad enum value).
    """
    models = importlib.import_module("flow_platform_client.models")
    cls = getattr(models, model_name)
    clean = {key: value for key, value in data.items() if value is not None}
    try:
        return cls.from_dict(clean)
    except (KeyError, TypeError, ValueError) as exc:
        raise FlowSDKError(f"invalid {model_name} request body: {exc!s}", code="invalid_request") from exc


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
    request_kwargs = dict(kwargs)
    if extra_headers:
        request_kwargs["headers"] = {**(request_kwargs.get("headers") or {}), **extra_headers}
    try:
        response = await client.request(**request_kwargs)
    except httpx.HTTPError as exc:
        raise map_http_error(exc, family) from exc
    if response.status_code >= 400:
        error = map_http_error(response, family)
        raise error from httpx.HTTPStatusError(error.message, request=response.request, response=response)
    return parse_response(response)
