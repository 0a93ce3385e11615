"""Gateway routes and the backend that routes a `provider/model` to the offline provider or an upstream."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from flow_server_models import (
    ChatCompletion,
    ChatCompletionRequest,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelList,
)

from flow_local.auth import Principal, get_principal
from flow_local.core import Platform, platform_of
from flow_local.errors import ApiError, bad_request
from flow_local.gateway import offline
from flow_local.gateway.ratelimit import RateLimiter
from flow_local.gateway.upstream import UpstreamProvider


class GatewayBackend:
    """Routes requests by the model's provider prefix."""

    def __init__(self, platform: Platform) -> None:
        settings = platform.settings
        self.limiter = RateLimiter(settings.gateway_rate_limit, settings.rate_window_seconds)
        self.upstreams = {u.provider: UpstreamProvider(u) for u in settings.upstreams}

    def route(self, model: str) -> tuple[str, str]:
        """``(provider, model_name)`` for a `provider/model`; 404 for models nothing serves."""
        provider, sep, name = model.partition("/")
        if not sep or not name:
            raise ApiError(404, "model_not_found", f"model '{model}' must be named provider/model", "model")
        if provider == "offline":
            if model not in offline.MODELS:
                raise ApiError(
                    404,
                    "model_not_found",
                    f"unknown offline model '{model}'; use one of {', '.join(offline.MODELS)}",
                    "model",
                )
            return provider, name
        if provider not in self.upstreams:
            raise ApiError(
                404,
                "model_not_found",
                f"no provider serves '{model}': configure an upstream for '{provider}' (FLOW_UPSTREAM_BASE_URL or gateway.json)",
                "model",
            )
        return provider, name

    async def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        """A chat completion (JSON)."""
        provider, name = self.route(request["model"])
        if provider == "offline":
            return offline.chat(request)
        answer = await self.upstreams[provider].post_json("/chat/completions", request, name)
        answer["model"] = request["model"]
        return answer

    async def chat_stream(self, request: dict[str, Any]) -> AsyncIterator[bytes]:
        """A streamed chat completion: SSE bytes ending with ``data: [DONE]``."""
        provider, name = self.route(request["model"])
        if provider == "offline":
            return _offline_stream(offline.chat(request))
        return await self.upstreams[provider].open_stream(request, name)

    async def embed(self, model: str, texts: list[str], dimensions: int | None = None) -> list[list[float]]:
        """Embeddings of ``texts`` (the entry point memory uses)."""
        provider, name = self.route(model)
        if provider == "offline":
            return offline.embed(texts, dimensions)
        request: dict[str, Any] = {"input": texts}
        if dimensions:
            request["dimensions"] = dimensions
        answer = await self.upstreams[provider].post_json("/embeddings", request, name)
        return [item["embedding"] for item in sorted(answer["data"], key=lambda d: d["index"])]

    def models(self) -> list[dict[str, Any]]:
        """Models served: the offline ones and one wildcard entry per upstream."""
        created = int(time.time())
        items = [
            {"id": m, "object": "model", "created": created, "owned_by": "offline"} for m in offline.MODELS
        ]
        items += [
            {"id": f"{p}/*", "object": "model", "created": created, "owned_by": p} for p in self.upstreams
        ]
        return items


async def _offline_stream(completion: dict[str, Any]) -> AsyncIterator[bytes]:
    for chunk in offline.stream_chunks(completion):
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"


router = APIRouter(prefix="/api/v1/gateway/v1", tags=["gateway"])


def _gateway(request: Request, principal: Principal) -> GatewayBackend:
    backend = platform_of(request).backend(GatewayBackend)
    backend.limiter.check(principal.subject)
    return backend


@router.post("/chat/completions", response_model=None)
async def create_chat_completion(
    body: ChatCompletionRequest, request: Request, principal: Principal = Depends(get_principal)
) -> dict[str, Any] | StreamingResponse:
    """POST /api/v1/gateway/v1/chat/completions (JSON, or SSE with ``stream: true``)."""
    gateway = _gateway(request, principal)
    payload = body.model_dump(mode="json", exclude_unset=True)
    if body.stream:
        stream = await gateway.chat_stream(payload)
        return StreamingResponse(
            stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
    return ChatCompletion(**await gateway.chat(payload)).model_dump(mode="json", exclude_unset=True)


@router.post("/embeddings")
async def create_embedding(
    body: EmbeddingRequest, request: Request, principal: Principal = Depends(get_principal)
) -> dict[str, Any]:
    """POST /api/v1/gateway/v1/embeddings."""
    gateway = _gateway(request, principal)
    raw = body.model_dump(mode="json")["input"]
    texts = [raw] if isinstance(raw, str) else list(raw)
    if not texts or any(not isinstance(t, str) for t in texts):
        raise bad_request("input must be a string or a list of strings", "input")
    vectors = await gateway.embed(body.model, texts, body.dimensions)
    tokens = sum(offline.count_tokens(t) for t in texts)
    return EmbeddingResponse(
        object="list",
        data=[{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
        model=body.model,
        usage={"prompt_tokens": tokens, "total_tokens": tokens},
    ).model_dump(mode="json")


@router.get("/models")
async def list_models(
    request: Request,
    scope: str = Query("all", pattern="^(organization|platform|all)$"),
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """GET /api/v1/gateway/v1/models."""
    gateway = _gateway(request, principal)
    return ModelList(object="list", data=gateway.models()).model_dump(mode="json")
