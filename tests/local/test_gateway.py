"""Gateway: offline JSON and streaming answers, tool calls, embeddings, rate limits, and the upstream proxy.

The upstream is a second local server started by this test, speaking the OpenAI wire format; it
stands in for a remote model provider (the only part mocked, because it is remote).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from flow_local.platform import LocalPlatform, free_port

G = "/api/v1/gateway/v1"


def test_offline_chat_json(client: httpx.Client) -> None:
    answer = client.post(
        f"{G}/chat/completions",
        json={"model": "offline/echo", "messages": [{"role": "user", "content": "Capital of France?"}]},
    ).json()
    assert answer["choices"][0]["message"]["content"] == "You said: Capital of France?"
    assert (
        answer["usage"]["total_tokens"]
        == answer["usage"]["prompt_tokens"] + answer["usage"]["completion_tokens"]
        > 0
    )


def test_offline_stream_ends_with_done(client: httpx.Client) -> None:
    body = {
        "model": "offline/echo",
        "stream": True,
        "messages": [{"role": "user", "content": "one two three"}],
    }
    with client.stream("POST", f"{G}/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    text = "".join(json.loads(x[6:])["choices"][0]["delta"].get("content") or "" for x in lines[:-1])
    assert text == "You said: one two three"


def test_offline_tool_call(client: httpx.Client) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "add",
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                },
            },
        }
    ]
    answer = client.post(
        f"{G}/chat/completions",
        json={
            "model": "offline/echo",
            "tools": tools,
            "messages": [{"role": "user", "content": "use add on 2 and 5"}],
        },
    ).json()
    call = answer["choices"][0]["message"]["tool_calls"][0]
    assert answer["choices"][0]["finish_reason"] == "tool_calls"
    assert (call["function"]["name"], json.loads(call["function"]["arguments"])) == ("add", {"a": 2, "b": 5})


def test_offline_embeddings_are_normalised_and_similar_for_similar_texts(client: httpx.Client) -> None:
    data = client.post(
        f"{G}/embeddings",
        json={
            "model": "offline/embed",
            "input": ["the cat sat on the mat", "a cat sat on a mat", "stock market report"],
        },
    ).json()["data"]
    import numpy as np

    vectors = np.array([d["embedding"] for d in data])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.5 > vectors[0] @ vectors[2]
    custom = client.post(
        f"{G}/embeddings", json={"model": "offline/embed", "input": "x", "dimensions": 64}
    ).json()
    assert len(custom["data"][0]["embedding"]) == 64


def test_unknown_model_is_404(client: httpx.Client) -> None:
    response = client.post(
        f"{G}/chat/completions", json={"model": "nobody/none", "messages": [{"role": "user", "content": "x"}]}
    )
    assert response.status_code == 404 and response.json()["field"] == "model"


def test_rate_limit_answers_429_with_retry_after() -> None:
    with LocalPlatform(gateway_rate_limit=3) as lp:
        headers = {"Authorization": f"Bearer {lp.admin_token}"}
        statuses = [httpx.get(f"{lp.url}{G}/models", headers=headers) for _ in range(4)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        assert int(statuses[-1].headers["retry-after"]) >= 1


def _upstream_app(seen: list[dict[str, object]]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> object:
        body = await request.json()
        seen.append({"auth": request.headers.get("authorization"), **body})
        if body["model"] == "broken":
            return JSONResponse({"error": {"message": "overloaded"}}, status_code=503)
        if body.get("stream"):

            async def events() -> Iterator[bytes]:  # type: ignore[misc]
                for piece in ("up", "stream"):
                    chunk = {
                        "id": "c1",
                        "object": "chat.completion.chunk",
                        "created": 1,
                        "model": body["model"],
                        "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                    }
                    yield f"data: {json.dumps(chunk)}\n\n".encode()
                yield b"data: [DONE]\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        return {
            "id": "c1",
            "object": "chat.completion",
            "created": 1,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "from upstream"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }

    return app


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, list[dict[str, object]]]]:
    seen: list[dict[str, object]] = []
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(_upstream_app(seen), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    yield f"http://127.0.0.1:{port}/v1", seen
    server.should_exit = True
    thread.join(5)


def test_upstream_proxy(upstream: tuple[str, list[dict[str, object]]]) -> None:
    base_url, seen = upstream
    from flow_local.settings import UpstreamConfig

    with LocalPlatform(upstreams=[UpstreamConfig(base_url=base_url, api_key="sk-test")]) as lp:
        c = httpx.Client(base_url=lp.url, headers={"Authorization": f"Bearer {lp.admin_token}"})
        answer = c.post(
            f"{G}/chat/completions",
            json={"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        ).json()
        assert (
            answer["choices"][0]["message"]["content"] == "from upstream"
            and answer["model"] == "openai/gpt-4o"
        )
        assert seen[-1]["model"] == "gpt-4o" and seen[-1]["auth"] == "Bearer sk-test"
        streamed = c.post(
            f"{G}/chat/completions",
            json={"model": "openai/gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        )
        events = [x for x in streamed.text.splitlines() if x.startswith("data: ")]
        assert events[-1] == "data: [DONE]" and "stream" in events[-2]
        failed = c.post(
            f"{G}/chat/completions",
            json={"model": "openai/broken", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert failed.status_code == 502 and "overloaded" in failed.json()["detail"]
    with LocalPlatform(upstreams=[UpstreamConfig(base_url="http://127.0.0.1:9/v1", api_key="")]) as lp:
        down = httpx.post(
            f"{lp.url}{G}/chat/completions",
            headers={"Authorization": f"Bearer {lp.admin_token}"},
            json={"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert down.status_code == 502
