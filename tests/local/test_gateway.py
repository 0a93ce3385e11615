"""Gateway: offline JSON and streaming answers, tool calls, embeddings, stand-ins, rate limits, upstream proxy.

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

from flow_local.harness import LocalPlatform
from flow_local.ports import free_port

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


def test_standin_chat_keeps_model_and_marks_provider(client: httpx.Client) -> None:
    for model in ("openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"):
        response = client.post(
            f"{G}/chat/completions", json={"model": model, "messages": [{"role": "user", "content": "hi"}]}
        )
        assert response.status_code == 200, response.text
        assert response.headers["x-flow-provider"] == "offline-stand-in"
        assert response.json()["model"] == model
        assert response.json()["choices"][0]["message"]["content"] == "You said: hi"
    own = client.post(
        f"{G}/chat/completions",
        json={"model": "offline/echo", "messages": [{"role": "user", "content": "x"}]},
    )
    assert own.headers["x-flow-provider"] == "offline"


def test_standin_stream(client: httpx.Client) -> None:
    body = {
        "model": "anthropic/claude-sonnet-4-20250514",
        "stream": True,
        "messages": [{"role": "user", "content": "one two"}],
    }
    with client.stream("POST", f"{G}/chat/completions", json=body) as response:
        assert response.headers["x-flow-provider"] == "offline-stand-in"
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    chunks = [json.loads(x[6:]) for x in lines[:-1]]
    assert lines[-1] == "data: [DONE]"
    assert {c["model"] for c in chunks} == {"anthropic/claude-sonnet-4-20250514"}
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "You said: one two"


@pytest.mark.parametrize(
    ("model", "dimensions", "expected"),
    [
        ("openai/text-embedding-3-small", None, 1536),
        ("openai/text-embedding-3-large", None, 3072),
        ("openai/text-embedding-3-small", 256, 256),
        ("openai/text-embedding-3-large", 1024, 1024),
    ],
)
def test_standin_embedding_dimensions(
    client: httpx.Client, model: str, dimensions: int | None, expected: int
) -> None:
    body: dict[str, object] = {"model": model, "input": ["a cat", "a dog"]}
    if dimensions is not None:
        body["dimensions"] = dimensions
    response = client.post(f"{G}/embeddings", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["x-flow-provider"] == "offline-stand-in"
    answer = response.json()
    assert answer["model"] == model
    assert [len(d["embedding"]) for d in answer["data"]] == [expected, expected]


def test_standin_embedding_refuses_more_dimensions_than_the_model_has(client: httpx.Client) -> None:
    response = client.post(
        f"{G}/embeddings", json={"model": "openai/text-embedding-3-small", "input": "x", "dimensions": 2048}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "dimensions" and "1536" in response.json()["detail"]


def test_standin_used_for_the_wrong_kind_is_400(client: httpx.Client) -> None:
    chat = client.post(
        f"{G}/chat/completions",
        json={"model": "openai/text-embedding-3-small", "messages": [{"role": "user", "content": "x"}]},
    )
    assert chat.status_code == 400 and chat.json()["field"] == "model"
    assert "embedding model" in chat.json()["detail"]
    embed = client.post(f"{G}/embeddings", json={"model": "openai/gpt-4o", "input": "x"})
    assert embed.status_code == 400 and "chat model" in embed.json()["detail"]


def test_unknown_name_of_a_standin_provider_is_404_naming_the_standins(client: httpx.Client) -> None:
    response = client.post(
        f"{G}/chat/completions",
        json={"model": "openai/does-not-exist", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 404 and response.json()["code"] == "model_not_found"
    assert "openai/gpt-4o" in response.json()["detail"]


def test_models_lists_standins(client: httpx.Client) -> None:
    owners = {m["id"]: m["owned_by"] for m in client.get(f"{G}/models").json()["data"]}
    assert owners["openai/gpt-4o"] == "offline (stand-in for openai)"
    assert owners["openai/text-embedding-3-large"] == "offline (stand-in for openai)"
    assert owners["anthropic/claude-3-5-haiku-latest"] == "offline (stand-in for anthropic)"
    assert owners["offline/echo"] == "offline"


def test_standins_off_by_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOW_LOCAL_GATEWAY_STANDINS", "0")
    with LocalPlatform() as lp:
        headers = {"Authorization": f"Bearer {lp.admin_token}"}
        chat = httpx.post(
            f"{lp.url}{G}/chat/completions",
            headers=headers,
            json={"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "x"}]},
        )
        assert chat.status_code == 404 and "FLOW_LOCAL_GATEWAY_STANDINS=0" in chat.json()["detail"]
        embed = httpx.post(
            f"{lp.url}{G}/embeddings",
            headers=headers,
            json={"model": "openai/text-embedding-3-small", "input": "x"},
        )
        assert embed.status_code == 404
        ids = {m["id"] for m in httpx.get(f"{lp.url}{G}/models", headers=headers).json()["data"]}
        assert "offline/echo" in ids and not any(i.startswith(("openai/", "anthropic/")) for i in ids)


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

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> object:
        body = await request.json()
        seen.append({"auth": request.headers.get("authorization"), **body})
        data = [
            {"object": "embedding", "index": i, "embedding": [0.5] * 8} for i in range(len(body["input"]))
        ]
        return {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
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
        assert (
            c.post(
                f"{G}/chat/completions",
                json={"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
            ).headers["x-flow-provider"]
            == "openai"
        )
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
        _check_upstream_replaces_standins_of_its_provider_only(c, seen)
    with LocalPlatform(upstreams=[UpstreamConfig(base_url="http://127.0.0.1:9/v1", api_key="")]) as lp:
        down = httpx.post(
            f"{lp.url}{G}/chat/completions",
            headers={"Authorization": f"Bearer {lp.admin_token}"},
            json={"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert down.status_code == 502


def _check_upstream_replaces_standins_of_its_provider_only(
    c: httpx.Client, seen: list[dict[str, object]]
) -> None:
    """With an ``openai`` upstream, openai names go upstream; anthropic stand-ins still answer offline."""
    embedded = c.post(f"{G}/embeddings", json={"model": "openai/text-embedding-3-small", "input": "x"})
    assert embedded.headers["x-flow-provider"] == "openai"
    assert embedded.json()["data"][0]["embedding"] == [0.5] * 8
    assert seen[-1]["model"] == "text-embedding-3-small"
    claude = c.post(
        f"{G}/chat/completions",
        json={
            "model": "anthropic/claude-sonnet-4-20250514",
            "messages": [{"role": "user", "content": "hi"}],
        },
    )
    assert claude.headers["x-flow-provider"] == "offline-stand-in"
    assert claude.json()["choices"][0]["message"]["content"] == "You said: hi"
    owners = {m["id"]: m["owned_by"] for m in c.get(f"{G}/models").json()["data"]}
    assert owners["openai/*"] == "openai" and "openai/gpt-4o" not in owners
    assert owners["anthropic/claude-sonnet-4-20250514"] == "offline (stand-in for anthropic)"


def _listing_upstream_app(calls: list[str]) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/models")
    async def models(request: Request) -> object:
        calls.append(str(request.headers.get("authorization")))
        return {
            "object": "list",
            "data": [
                {"id": "big-model", "object": "model", "created": 1700000000, "owned_by": "acme"},
                {"id": "small-model", "object": "model"},
                {"object": "model"},
            ],
        }

    return app


def test_models_lists_an_upstreams_models_fetched_once() -> None:
    """The upstream's GET /models is asked once; its models are listed as ``provider/<id>``."""
    from flow_local.settings import UpstreamConfig

    calls: list[str] = []
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(_listing_upstream_app(calls), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    try:
        config = UpstreamConfig(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-list", provider="acme")
        with LocalPlatform(upstreams=[config]) as lp:
            c = httpx.Client(base_url=lp.url, headers={"Authorization": f"Bearer {lp.admin_token}"})
            first = {m["id"]: m for m in c.get(f"{G}/models").json()["data"]}
            second = {m["id"]: m for m in c.get(f"{G}/models").json()["data"]}
    finally:
        server.should_exit = True
        thread.join(5)
    assert calls == ["Bearer sk-list"]
    assert first == second
    assert first["acme/big-model"] == {
        "id": "acme/big-model",
        "object": "model",
        "created": 1700000000,
        "owned_by": "acme",
    }
    assert first["acme/small-model"]["owned_by"] == "acme"
    assert "acme/*" not in first and "offline/echo" in first
