"""The deterministic offline provider (``offline/*``): no network, same answer for the same input.

Chat answers from its input (and returns ``tool_calls`` when tools are offered and the prompt asks
for one); embeddings hash word and character n-grams into a fixed number of dimensions and
L2-normalise, so texts sharing words are close.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np

MODELS = ("offline/echo", "offline/chat", "offline/embed")
DEFAULT_DIMENSIONS = 384
_TOKEN = re.compile(r"\w+|[^\w\s]")
_WORD = re.compile(r"\w+")
_TOOL_WORDS = ("tool", "use", "call", "run", "invoke", "compute", "look up", "lookup", "search", "fetch")


def count_tokens(text: str) -> int:
    """A token count close to real tokenisers: words and punctuation marks."""
    return len(_TOKEN.findall(text))


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    return content if isinstance(content, str) else ""


def _prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(4 + count_tokens(_message_text(m)) for m in messages) + 2


def _choose_tool(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]], tool_choice: str | None
) -> dict[str, Any] | None:
    """The tool to call, when tools are offered, allowed, and the last user turn asks for one."""
    if not tools or tool_choice == "none" or (messages and messages[-1].get("role") == "tool"):
        return None
    text = next((_message_text(m) for m in reversed(messages) if m.get("role") == "user"), "").lower()
    for tool in tools:
        name = str(tool.get("function", {}).get("name", ""))
        if name and (name.lower() in text or name.lower().replace("_", " ") in text):
            return tool
    if tool_choice == "required" or any(word in text for word in _TOOL_WORDS):
        return tools[0]
    return None


def _arguments(tool: dict[str, Any], text: str) -> dict[str, Any]:
    """Arguments for a tool, filled from the prompt according to its JSON-schema parameters."""
    properties = (tool.get("function", {}).get("parameters") or {}).get("properties") or {}
    numbers = re.findall(r"-?\d+(?:\.\d+)?", text)
    args: dict[str, Any] = {}
    for index, (name, schema) in enumerate(properties.items()):
        kind = schema.get("type") if isinstance(schema, dict) else None
        if kind in ("integer", "number"):
            raw = numbers[index] if index < len(numbers) else (numbers[0] if numbers else "0")
            args[name] = int(float(raw)) if kind == "integer" else float(raw)
        elif kind == "boolean":
            args[name] = True
        elif kind == "array":
            args[name] = _WORD.findall(text)[:5]
        elif kind == "object":
            args[name] = {}
        else:
            args[name] = text
    return args


def _answer(messages: list[dict[str, Any]]) -> str:
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return f"The tool returned: {_message_text(last)}"
    user = next((_message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    return f"You said: {user}" if user else "Hello from the offline model."


def chat(request: dict[str, Any]) -> dict[str, Any]:
    """A ChatCompletion for a ChatCompletionRequest (as dicts)."""
    messages: list[dict[str, Any]] = request["messages"]
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    prompt_tokens = _prompt_tokens(messages)
    tool = _choose_tool(messages, request.get("tools") or [], request.get("tool_choice"))
    message: dict[str, Any] = {"role": "assistant"}
    if tool is not None:
        user_text = next((_message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
        arguments = json.dumps(_arguments(tool, user_text))
        call = {
            "id": f"call_{uuid.uuid4().hex[:16]}",
            "type": "function",
            "function": {"name": tool["function"]["name"], "arguments": arguments},
        }
        message.update(content=None, tool_calls=[call])
        finish, completion_tokens = "tool_calls", count_tokens(arguments) + 3
    else:
        content, finish = _truncate(_answer(messages), request.get("max_tokens"))
        message["content"] = content
        completion_tokens = count_tokens(content)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _truncate(text: str, max_tokens: int | None) -> tuple[str, str]:
    if not max_tokens:
        return text, "stop"
    pieces = re.findall(r"\s*\S+", text)
    kept: list[str] = []
    used = 0
    for piece in pieces:
        cost = count_tokens(piece)
        if used + cost > max_tokens:
            return "".join(kept), "length"
        kept.append(piece)
        used += cost
    return text, "stop"


def stream_chunks(completion: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The ChatCompletionChunks of a completion: role, content word by word (or tool calls), finish + usage."""
    base = {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
    }
    choice = completion["choices"][0]
    message = choice["message"]
    yield {
        **base,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
    }
    if message.get("tool_calls"):
        yield {
            **base,
            "choices": [{"index": 0, "delta": {"tool_calls": message["tool_calls"]}, "finish_reason": None}],
        }
    else:
        for piece in re.findall(r"\s*\S+", message.get("content") or ""):
            yield {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
    yield {
        **base,
        "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"]}],
        "usage": completion["usage"],
    }


def _features(text: str) -> list[tuple[str, float]]:
    lowered = text.lower()
    words = _WORD.findall(lowered)
    feats = [(f"w:{w}", 1.0) for w in words]
    feats += [(f"b:{a} {b}", 0.5) for a, b in itertools.pairwise(words)]
    for word in words:
        padded = f"#{word}#"
        feats += [(f"c:{padded[i : i + 3]}", 0.25) for i in range(max(1, len(padded) - 2))]
    return feats


def embed_one(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> np.ndarray:
    """The embedding of one text: hashed n-gram features, L2-normalised float32."""
    vector = np.zeros(dimensions, dtype=np.float32)
    for feature, weight in _features(text):
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dimensions
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[index] += sign * weight
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        vector[
            int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "little") % dimensions
        ] = 1.0
        return vector
    return vector / norm


def embed(texts: list[str], dimensions: int | None = None) -> list[list[float]]:
    """Embeddings of several texts."""
    dims = dimensions or DEFAULT_DIMENSIONS
    return [embed_one(text, dims).tolist() for text in texts]
