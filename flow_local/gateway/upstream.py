"""A proxy to an OpenAI-compatible upstream (``<provider>/<model>``, e.g. ``openai/gpt-4o``).

The base URL and key come from the environment or ``gateway.json`` in the data dir (see settings).
Connection failures and upstream 5xx become 502; upstream 404 becomes 404; 429 keeps its Retry-After.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from flow_local.errors import ApiError
from flow_local.settings import UpstreamConfig

TIMEOUT = httpx.Timeout(120.0, connect=10.0)
MODELS_TIMEOUT = httpx.Timeout(5.0)
MODELS_TTL_SECONDS = 600.0
"""How long the upstream's model list is kept."""
MODELS_RETRY_SECONDS = 60.0
"""How long a failed model-list fetch is remembered before the upstream is asked again."""


class UpstreamProvider:
    """One OpenAI-compatible upstream."""

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=TIMEOUT, headers=self._headers())
        self._models: list[dict[str, Any]] | None = None
        self._models_until = 0.0
        self._models_lock = asyncio.Lock()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}

    def _body(self, request: dict[str, Any], model: str) -> dict[str, Any]:
        return {**{k: v for k, v in request.items() if v is not None}, "model": model}

    async def post_json(self, path: str, request: dict[str, Any], model: str) -> dict[str, Any]:
        """POST a JSON request upstream and return its JSON answer (errors mapped)."""
        try:
            response = await self._client.post(f"{self.base_url}{path}", json=self._body(request, model))
        except httpx.HTTPError as exc:
            raise ApiError(
                502,
                "upstream_unavailable",
                f"the {self.config.provider} upstream failed: {type(exc).__name__}",
            ) from exc
        self._raise_for_status(response.status_code, response.text, response.headers)
        try:
            return response.json()  # type: ignore[no-any-return]
        except ValueError as exc:
            raise ApiError(
                502, "upstream_invalid", f"the {self.config.provider} upstream sent invalid JSON"
            ) from exc

    async def open_stream(self, request: dict[str, Any], model: str) -> AsyncIterator[bytes]:
        """Open a streamed chat completion; errors before the first byte raise ApiError."""
        body = self._body({**request, "stream": True}, model)
        req = self._client.build_request("POST", f"{self.base_url}/chat/completions", json=body)
        try:
            response = await self._client.send(req, stream=True)
        except httpx.HTTPError as exc:
            raise ApiError(
                502,
                "upstream_unavailable",
                f"the {self.config.provider} upstream failed: {type(exc).__name__}",
            ) from exc
        if response.status_code >= 400:
            text = (await response.aread()).decode(errors="replace")
            await response.aclose()
            self._raise_for_status(response.status_code, text, response.headers)
        return self._relay(response)

    async def _relay(self, response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for line in response.aiter_lines():
                yield (line + "\n").encode()
        except httpx.HTTPError as exc:
            error = {
                "detail": f"the upstream stream broke: {type(exc).__name__}",
                "code": "bad_gateway",
                "request_id": "",
                "field": None,
            }
            yield f"event: error\ndata: {json.dumps(error)}\n\n".encode()
        finally:
            await response.aclose()

    def _raise_for_status(self, status: int, text: str, headers: httpx.Headers) -> None:
        if status < 400:
            return
        detail = _upstream_detail(text) or f"HTTP {status}"
        if status == 404:
            raise ApiError(404, "model_not_found", f"the {self.config.provider} upstream: {detail}", "model")
        if status == 429:
            retry = headers.get("retry-after", "1")
            raise ApiError(
                429,
                "rate_limited",
                f"the {self.config.provider} upstream is rate limiting: {detail}",
                headers={"Retry-After": retry},
            )
        if status == 400:
            raise ApiError(
                400, "validation_error", f"the {self.config.provider} upstream refused the request: {detail}"
            )
        raise ApiError(502, "bad_gateway", f"the {self.config.provider} upstream answered {status}: {detail}")

    async def models(self) -> list[dict[str, Any]] | None:
        """The upstream's ``GET /models`` entries (``id``, ``created``, ``owned_by``), cached.

        Fetched once and kept for :data:`MODELS_TTL_SECONDS`; None when the upstream cannot list its
        models (then it is asked again after :data:`MODELS_RETRY_SECONDS`).
        """
        async with self._models_lock:
            if time.monotonic() >= self._models_until:
                self._models = await self._fetch_models()
                ttl = MODELS_TTL_SECONDS if self._models is not None else MODELS_RETRY_SECONDS
                self._models_until = time.monotonic() + ttl
            return self._models

    async def _fetch_models(self) -> list[dict[str, Any]] | None:
        try:
            response = await self._client.get(f"{self.base_url}/models", timeout=MODELS_TIMEOUT)
            data = response.json().get("data") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        if not isinstance(data, list):
            return None
        return [m for m in data if isinstance(m, dict) and isinstance(m.get("id"), str) and m["id"]]

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()


def _upstream_detail(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if body.get("detail"):
            return str(body["detail"])
    return text[:200]
