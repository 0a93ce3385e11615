"""The gateway backend: routes a `provider/model` to the offline provider or an upstream."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response, StreamingResponse

from flow_local._generated.models import (
    ChatCompletion,
    ChatCompletionRequest,
    EmbeddingRequest,
    EmbeddingResponse,
    ModelList,
)
from flow_local._generated.routers.gateway import GatewayOperations
from flow_local._generated.routers.types import ListModelsScope
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.errors import ApiError, bad_request
from flow_local.gateway import catalog, offline
from flow_local.gateway.upstream import UpstreamProvider
from flow_local.rate_limits import RateLimiter


@dataclass(frozen=True)
class Target:
    """Where a model's requests go.

    Attributes:
        provider: The model's provider prefix (``offline``, ``openai``, ...).
        name: The model name without the prefix (what an upstream is sent).
        stand_in: The offline stand-in serving it, when one does.
    """

    provider: str
    name: str
    stand_in: catalog.StandIn | None = None

    @property
    def offline(self) -> bool:
        """Whether the offline provider answers (an ``offline/*`` model or a stand-in)."""
        return self.provider == "offline" or self.stand_in is not None

    @property
    def served_by(self) -> str:
        """The ``X-Flow-Provider`` header value: ``offline``, ``offline-stand-in`` or the upstream's name."""
        return catalog.STANDIN_PROVIDER if self.stand_in is not None else self.provider


class GatewayBackend(GatewayOperations[Call]):
    """Routes requests by the model's provider prefix."""

    def __init__(self, platform: Platform) -> None:
        settings = platform.settings
        self.limiter = RateLimiter(
            platform.db, "gateway", settings.gateway_rate_limit, settings.rate_window_seconds
        )
        self.upstreams = {u.provider: UpstreamProvider(u) for u in settings.upstreams}
        self.standins_enabled = settings.gateway_standins
        # The models the platform itself serves were "created" when it started: one value, so two
        # listings agree (a clock read per listing made them differ across a second boundary).
        self.started = int(time.time())

    def resolve(self, model: str) -> Target:
        """The target of a `provider/model`; 404 for models nothing serves."""
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
            return Target(provider, name)
        if provider in self.upstreams:
            return Target(provider, name)
        stand_in = catalog.find(model) if self.standins_enabled else None
        if stand_in is not None:
            return Target(provider, name, stand_in)
        raise ApiError(404, "model_not_found", self._not_served(model, provider), "model")

    def _not_served(self, model: str, provider: str) -> str:
        detail = (
            f"no provider serves '{model}': configure an upstream for '{provider}' "
            "(FLOW_UPSTREAM_BASE_URL or gateway.json)"
        )
        names = catalog.names_for(provider)
        if not names:
            return detail
        if not self.standins_enabled:
            return f"{detail}; offline stand-ins are off (FLOW_LOCAL_GATEWAY_STANDINS=0)"
        return f"{detail}; without one, the offline stand-ins {', '.join(names)} answer"

    def _check_kind(self, target: Target, model: str, kind: str) -> None:
        stand_in = target.stand_in
        if stand_in is not None and stand_in.kind != kind:
            endpoint = "POST /embeddings" if stand_in.kind == catalog.EMBEDDING else "POST /chat/completions"
            raise bad_request(f"'{model}' is {_article(stand_in.kind)} model; use {endpoint}", "model")

    async def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        """A chat completion (JSON)."""
        answer, _target = await self.chat_with_target(request)
        return answer

    async def chat_with_target(self, request: dict[str, Any]) -> tuple[dict[str, Any], Target]:
        """A chat completion (JSON) and the target that answered it."""
        target = self.resolve(request["model"])
        self._check_kind(target, request["model"], catalog.CHAT)
        if target.offline:
            return offline.chat(request), target
        answer = await self.upstreams[target.provider].post_json("/chat/completions", request, target.name)
        answer["model"] = request["model"]
        return answer, target

    async def chat_stream_with_target(self, request: dict[str, Any]) -> tuple[AsyncIterator[bytes], Target]:
        """A streamed chat completion and the target that answers it."""
        target = self.resolve(request["model"])
        self._check_kind(target, request["model"], catalog.CHAT)
        if target.offline:
            return _offline_stream(offline.chat(request)), target
        return await self.upstreams[target.provider].open_stream(request, target.name), target

    async def embed(self, model: str, texts: list[str], dimensions: int | None = None) -> list[list[float]]:
        """Embeddings of ``texts`` (the entry point memory uses)."""
        vectors, _target = await self.embed_with_target(model, texts, dimensions)
        return vectors

    async def embed_with_target(
        self, model: str, texts: list[str], dimensions: int | None = None
    ) -> tuple[list[list[float]], Target]:
        """Embeddings of ``texts`` and the target that computed them."""
        target = self.resolve(model)
        self._check_kind(target, model, catalog.EMBEDDING)
        if target.stand_in is not None:
            return offline.embed(texts, _stand_in_dimensions(target.stand_in, dimensions)), target
        if target.offline:
            return offline.embed(texts, dimensions), target
        request: dict[str, Any] = {"input": texts}
        if dimensions:
            request["dimensions"] = dimensions
        answer = await self.upstreams[target.provider].post_json("/embeddings", request, target.name)
        return [item["embedding"] for item in sorted(answer["data"], key=lambda d: d["index"])], target

    async def models(self) -> list[dict[str, Any]]:
        """Models served: the offline ones, the stand-ins of providers without an upstream, and each
        upstream's own list (``provider/<id>``; a ``provider/*`` wildcard when it cannot list them)."""
        created = self.started
        items = [
            {"id": m, "object": "model", "created": created, "owned_by": "offline"} for m in offline.MODELS
        ]
        if self.standins_enabled:
            items += [
                {"id": s.model, "object": "model", "created": created, "owned_by": s.owned_by}
                for s in catalog.STANDINS.values()
                if s.provider not in self.upstreams
            ]
        for provider, upstream in self.upstreams.items():
            listed = await upstream.models()
            if listed is None:
                items.append(
                    {"id": f"{provider}/*", "object": "model", "created": created, "owned_by": provider}
                )
                continue
            items += [
                {
                    "id": f"{provider}/{m['id']}",
                    "object": "model",
                    "created": m["created"] if isinstance(m.get("created"), int) else created,
                    "owned_by": str(m.get("owned_by") or provider),
                }
                for m in listed
            ]
        return items

    def _admit(self, call: Call) -> None:
        """429 when the caller is over the gateway's rate limit."""
        self.limiter.check(call.principal.subject)

    async def create_chat_completion(
        self, call: Call, *, body: ChatCompletionRequest
    ) -> ChatCompletion | Response:
        """A chat completion: JSON, or a stream of server-sent events with ``stream: true``."""
        self._admit(call)
        payload = body.model_dump(mode="json", exclude_unset=True)
        if body.stream:
            stream, target = await self.chat_stream_with_target(payload)
            headers = {"Cache-Control": "no-cache", catalog.PROVIDER_HEADER: target.served_by}
            return StreamingResponse(stream, media_type="text/event-stream", headers=headers)
        answer, target = await self.chat_with_target(payload)
        call.answer_headers[catalog.PROVIDER_HEADER] = target.served_by
        for choice in answer.get("choices") or []:
            choice.get("message", {}).setdefault(
                "content", None
            )  # an upstream may leave it out for tool calls
        return ChatCompletion.model_validate(answer)

    async def create_embedding(self, call: Call, *, body: EmbeddingRequest) -> EmbeddingResponse:
        """Embeddings of one text or a list of texts, in input order."""
        self._admit(call)
        raw = body.model_dump(mode="json")["input"]
        texts = [raw] if isinstance(raw, str) else list(raw)
        if not texts or any(not isinstance(t, str) for t in texts):
            raise bad_request("input must be a string or a list of strings", "input")
        vectors, target = await self.embed_with_target(body.model, texts, body.dimensions)
        call.answer_headers[catalog.PROVIDER_HEADER] = target.served_by
        tokens = sum(offline.count_tokens(t) for t in texts)
        answer = {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "model": body.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return EmbeddingResponse.model_validate(answer)

    async def list_models(self, call: Call, *, scope: ListModelsScope) -> ModelList:
        """The models the gateway routes (every scope lists the same models locally)."""
        self._admit(call)
        return ModelList.model_validate({"object": "list", "data": await self.models()})


def _article(kind: str) -> str:
    return "an embedding" if kind == catalog.EMBEDDING else "a chat"


def _stand_in_dimensions(stand_in: catalog.StandIn, dimensions: int | None) -> int:
    """The requested size, or the model's default; 400 beyond what the real model offers."""
    native = stand_in.dimensions or offline.DEFAULT_DIMENSIONS
    if dimensions is None:
        return native
    if dimensions > native:
        raise bad_request(f"dimensions must be at most {native} for '{stand_in.model}'", "dimensions")
    return dimensions


async def _offline_stream(completion: dict[str, Any]) -> AsyncIterator[bytes]:
    for chunk in offline.stream_chunks(completion):
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"
