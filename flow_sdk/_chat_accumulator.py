"""Assemble the chunks of a streamed chat completion into the completion a plain call would answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from flow_sdk._generated.types import ChatCompletion, ChatCompletionChunk

__all__ = ["ChatAccumulator"]


class ChatAccumulator:
    """Collects chunk after chunk; :meth:`completion` gives the assembled ``ChatCompletion``."""

    def __init__(self) -> None:
        self._head: dict[str, Any] = {}
        self._choices: dict[int, dict[str, Any]] = {}
        self._usage: dict[str, Any] | None = None

    def add(self, chunk: ChatCompletionChunk) -> None:
        """Fold one chunk in: ids and model from the first, text and tool calls appended, usage kept."""
        if not self._head:
            self._head = {key: chunk.get(key) for key in ("id", "created", "model")}
        usage = chunk.get("usage")
        if usage:
            self._usage = dict(cast("dict[str, Any]", usage))
        for choice in chunk.get("choices") or []:
            self._add_choice(cast("dict[str, Any]", choice))

    def _add_choice(self, choice: dict[str, Any]) -> None:
        index = int(choice.get("index", 0))
        slot = self._choices.setdefault(
            index, {"index": index, "message": {"role": "assistant", "content": None}, "finish_reason": None}
        )
        message: dict[str, Any] = slot["message"]
        delta: dict[str, Any] = choice.get("delta") or {}
        if delta.get("role"):
            message["role"] = delta["role"]
        if delta.get("content"):
            message["content"] = (message["content"] or "") + delta["content"]
        calls: list[dict[str, Any]] = delta.get("tool_calls") or []
        for call in calls:
            _merge_tool_call(message.setdefault("tool_calls", []), call)
        if choice.get("finish_reason"):
            slot["finish_reason"] = choice["finish_reason"]

    def completion(self) -> ChatCompletion:
        """The completion assembled from every chunk added so far."""
        body: dict[str, Any] = {
            **self._head,
            "object": "chat.completion",
            "choices": [self._choices[index] for index in sorted(self._choices)],
        }
        if self._usage is not None:
            body["usage"] = self._usage
        completion: ChatCompletion = cast("Any", body)
        return completion


def _merge_tool_call(calls: list[dict[str, Any]], call: dict[str, Any]) -> None:
    """Append a tool call, or extend the one with the same ``index`` (a call sent in pieces)."""
    position = call.get("index")
    for existing in calls:
        if position is not None and existing.get("index") == position:
            function: dict[str, Any] = existing.setdefault("function", {"name": "", "arguments": ""})
            piece: dict[str, Any] = call.get("function") or {}
            function["name"] = function.get("name") or piece.get("name", "")
            function["arguments"] = function.get("arguments", "") + piece.get("arguments", "")
            return
    calls.append({**call, "function": dict(call.get("function") or {})})
