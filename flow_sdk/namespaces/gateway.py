"""``flow.gateway``: the AI gateway, through a GatewayClient sharing the SDK's pooled client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from flow_sdk._generated.client.request import ApiRequest
from flow_sdk.gateway_client import chat_request, open_stream
from flow_sdk.namespaces._base import Namespace

if TYPE_CHECKING:
    from flow_sdk._generated.types import (
        ChatCompletion,
        ChatMessage,
        EmbeddingResponse,
        ModelList,
        ToolDefinition,
    )
    from flow_sdk._sse import ChatCompletionStream

__all__ = ["GatewayNamespace"]


class GatewayNamespace(Namespace):
    """Chat completions (plain and streamed), embeddings and the model list."""

    async def chat_completion(
        self,
        model: str,
        messages: Sequence[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: list[str] | None = None,
        tools: Sequence[ToolDefinition] | None = None,
        tool_choice: str | None = None,
        user: str | None = None,
    ) -> ChatCompletion:
        """Create a chat completion (``POST /api/v1/gateway/v1/chat/completions``)."""
        return await self._flow._gateway().chat_completion(
            model,
            messages,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            tools=tools,
            tool_choice=tool_choice,
            user=user,
        )

    async def stream_chat_completion(
        self,
        model: str,
        messages: Sequence[ChatMessage],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: list[str] | None = None,
        tools: Sequence[ToolDefinition] | None = None,
        tool_choice: str | None = None,
        user: str | None = None,
    ) -> ChatCompletionStream:
        """Stream a chat completion (SSE): iterate its chunks, or use ``text_stream()`` and ``final_completion()``."""
        request = chat_request(
            model,
            messages,
            True,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            tools=tools,
            tool_choice=tool_choice,
            user=user,
        )
        return await self._stream(request)

    async def _stream(self, api: ApiRequest[ChatCompletion]) -> ChatCompletionStream:
        """Open a streamed answer through the gateway client's pooled connections."""
        return await open_stream(self._flow._gateway().client, api)

    async def embedding(
        self, model: str, input: str | list[str], *, dimensions: int | None = None, user: str | None = None
    ) -> EmbeddingResponse:
        """Create embeddings (``POST /api/v1/gateway/v1/embeddings``)."""
        return await self._flow._gateway().embedding(model, input, dimensions=dimensions, user=user)

    async def embeddings(
        self, model: str, input: str | list[str], *, dimensions: int | None = None, user: str | None = None
    ) -> EmbeddingResponse:
        """Same as :meth:`embedding`."""
        return await self.embedding(model, input, dimensions=dimensions, user=user)

    async def list_models(self, scope: str = "all") -> ModelList:
        """List the gateway's models (``GET /api/v1/gateway/v1/models``)."""
        return await self._flow._gateway().list_models(scope)
