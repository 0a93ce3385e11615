"""GatewayClient: the AI gateway (OpenAI-compatible chat completions, streaming, embeddings, models)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import TracebackType

import httpx

from flow_sdk._errors import (
    ConfigurationError,
    FlowSDKError,
    GatewayAuthError,
    GatewayClientError,
    GatewayModelNotFoundError,
    GatewayProviderError,
    GatewayRateLimitError,
    GatewayStreamError,
    map_http_error,
)
from flow_sdk._generated.client.enums import LIST_MODELS_SCOPE
from flow_sdk._generated.client.gateway import (
    build_create_chat_completion_request,
    build_create_embedding_request,
    build_list_models_request,
)
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.types import (
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessage,
    EmbeddingResponse,
    ModelList,
    ToolDefinition,
)
from flow_sdk._requests import checked_body, choose, request_options, send
from flow_sdk._sse import ChatCompletionStream, SyncChatCompletionStream
from flow_sdk._transport import AsyncHttpSession, resolve_timeout
from flow_sdk.raw_response import RawResponseView

__all__ = [
    "ChatCompletionStream",
    "GatewayAuthError",
    "GatewayClient",
    "GatewayClientError",
    "GatewayModelNotFoundError",
    "GatewayProviderError",
    "GatewayRateLimitError",
    "GatewayStreamError",
    "SyncChatCompletionStream",
]


class GatewayClient:
    """Async client of the AI gateway; models are named ``provider/model``.

    Attributes:
        base_url: Gateway base URL (GATEWAY_URL, falling back to PLATFORM_API_URL).
        timeout: Request timeout in seconds.
    """

    def __init__(
        self, base_url: str | None = None, auth_token: str | None = None, timeout: float | None = None
    ) -> None:
        """Initialize the client from arguments, falling back to the environment.

        Args:
            base_url: Gateway base URL (defaults to GATEWAY_URL, then PLATFORM_API_URL).
            auth_token: JWT token (defaults to AUTH_TOKEN).
            timeout: Request timeout in seconds (default: FLOW_HTTP_TIMEOUT_SECONDS or 300).

        Raises:
            ConfigurationError: The URL or the token is neither passed nor in the environment.
        """
        resolved = base_url or os.environ.get("GATEWAY_URL") or os.environ.get("PLATFORM_API_URL", "")
        if not resolved:
            raise ConfigurationError.missing("GATEWAY_URL", "gateway_url")
        token = auth_token or os.environ.get("AUTH_TOKEN", "")
        if not token:
            raise ConfigurationError.missing("AUTH_TOKEN", "auth_token")
        self.base_url = resolved.rstrip("/")
        self.timeout = resolve_timeout(timeout)
        self._session = AsyncHttpSession(token, timeout=self.timeout)
        self._owns_session = True

    @property
    def with_raw_response(self) -> RawResponseView:
        """The same calls, each returning a ``RawResponse``: status, headers and request id with the result."""
        return RawResponseView(self)

    def __repr__(self) -> str:
        return f"GatewayClient(base_url={self.base_url!r})"

    @property
    def client(self) -> httpx.AsyncClient:
        """The pooled async HTTP client (created on first use)."""
        return self._session.client(self.base_url)

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP connections (shared ones are closed by their owner)."""
        if self._owns_session:
            await self._session.aclose()

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
        request = chat_request(
            model,
            messages,
            False,
            temperature=temperature,
            max_tokens=max_tokens,
            top_p=top_p,
            stop=stop,
            tools=tools,
            tool_choice=tool_choice,
            user=user,
        )
        return await send(self.client, request, family="gateway")

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
        """Stream a chat completion (``POST .../chat/completions`` with ``stream: true``, SSE).

        Returns:
            An async iterator of chunks (also an async context manager) once the server accepted it.

        Raises:
            GatewayClientError: The mapped error when the server refuses the request.
        """
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
        return await open_stream(self.client, request)

    async def embedding(
        self,
        model: str,
        input: str | list[str],
        *,
        dimensions: int | None = None,
        user: str | None = None,
    ) -> EmbeddingResponse:
        """Create embeddings for a string or a list of strings (``POST /api/v1/gateway/v1/embeddings``)."""
        if not input:
            raise GatewayClientError("input must be a non-empty string or list of strings")
        request = build_create_embedding_request(
            body={"model": model, "input": input, "dimensions": dimensions, "user": user}
        )
        return await send(self.client, request, family="gateway")

    async def embeddings(
        self,
        model: str,
        input: str | list[str],
        *,
        dimensions: int | None = None,
        user: str | None = None,
    ) -> EmbeddingResponse:
        """Same as :meth:`embedding` (OpenAI naming)."""
        return await self.embedding(model, input, dimensions=dimensions, user=user)

    async def list_models(self, scope: str = "all") -> ModelList:
        """List the models the gateway routes to (``GET /api/v1/gateway/v1/models``)."""
        try:
            request = build_list_models_request(scope=choose(scope, LIST_MODELS_SCOPE, "scope"))
        except FlowSDKError as exc:
            raise GatewayClientError(exc.message, code="invalid_request") from None
        return await send(self.client, request, family="gateway")


def chat_request(
    model: str,
    messages: Sequence[ChatMessage],
    stream: bool,
    *,
    temperature: float | None,
    max_tokens: int | None,
    top_p: float | None,
    stop: list[str] | None,
    tools: Sequence[ToolDefinition] | None,
    tool_choice: str | None,
    user: str | None,
) -> ApiRequest[ChatCompletion]:
    """Check ``model`` and ``messages``, then build ``POST .../chat/completions`` (plain or streamed).

    Raises:
        GatewayClientError: ``model`` is not ``provider/model`` or ``messages`` is empty.
    """
    if not model or "/" not in model:
        raise GatewayClientError(f"model must be named 'provider/model', got {model!r}")
    if not messages:
        raise GatewayClientError("messages must contain at least one message")
    body: ChatCompletionRequest = {
        "model": model,
        "messages": [checked_body(message, ChatMessage) for message in messages],
        "stream": stream,
    }
    if tools is not None:
        body["tools"] = [checked_body(tool, ToolDefinition) for tool in tools]
    if temperature is not None:
        body["temperature"] = temperature
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if top_p is not None:
        body["top_p"] = top_p
    if stop is not None:
        body["stop"] = stop
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    if user is not None:
        body["user"] = user
    return build_create_chat_completion_request(body=body)


async def open_stream(client: httpx.AsyncClient, api: ApiRequest[ChatCompletion]) -> ChatCompletionStream:
    """Send a streaming request; raise the mapped error for a 4xx/5xx, else wrap the open response."""
    try:
        options = request_options(api, {"Accept": "text/event-stream"})
        request = client.build_request(api.method, api.path, **options)
        response = await client.send(request, stream=True)
    except httpx.HTTPError as exc:
        raise map_http_error(exc, "gateway") from exc
    if response.status_code >= 400:
        try:
            await response.aread()
        finally:
            await response.aclose()
        error = map_http_error(response, "gateway")
        raise error from httpx.HTTPStatusError(error.message, request=response.request, response=response)
    return ChatCompletionStream(response)


def open_stream_sync(client: httpx.Client, api: ApiRequest[ChatCompletion]) -> SyncChatCompletionStream:
    """The sync twin of :func:`open_stream`."""
    try:
        options = request_options(api, {"Accept": "text/event-stream"})
        response = client.send(client.build_request(api.method, api.path, **options), stream=True)
    except httpx.HTTPError as exc:
        raise map_http_error(exc, "gateway") from exc
    if response.status_code >= 400:
        try:
            response.read()
        finally:
            response.close()
        error = map_http_error(response, "gateway")
        raise error from httpx.HTTPStatusError(error.message, request=response.request, response=response)
    return SyncChatCompletionStream(response)
