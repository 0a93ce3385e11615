"""The seed's gateway examples against the local platform, with no model upstream configured.

The seed's own model names (``openai/gpt-4o``, ``anthropic/claude-sonnet-4-20250514``,
``openai/text-embedding-3-small``) run as written: the offline provider answers them as stand-ins.
The offline models (``offline/chat``, ``offline/embed``) run too; unknown names are 404.
"""

from __future__ import annotations

import math

import pytest

from flow_sdk import FlowSDK, GatewayStreamError
from flow_sdk.gateway_client import GatewayClient, GatewayModelNotFoundError


async def test_chat_completion(flow: FlowSDK) -> None:
    response = await flow.gateway.chat_completion(
        model="offline/chat",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        temperature=0.7,
        max_tokens=256,
    )
    assert response["choices"][0]["message"]["content"] == "You said: What is the capital of France?"
    assert response["model"] == "offline/chat"
    assert (
        response["usage"]["total_tokens"]
        == response["usage"]["prompt_tokens"] + response["usage"]["completion_tokens"]
    )


async def test_chat_completion_max_tokens_truncates(flow: FlowSDK) -> None:
    response = await flow.gateway.chat_completion(
        model="offline/chat",
        messages=[{"role": "user", "content": "one two three four five six"}],
        max_tokens=3,
    )
    assert response["choices"][0]["finish_reason"] == "length"
    assert response["usage"]["completion_tokens"] <= 3


async def test_stream_chat_completion(flow: FlowSDK) -> None:
    pieces: list[str] = []
    async for chunk in await flow.gateway.stream_chat_completion(
        model="offline/chat",
        messages=[{"role": "user", "content": "Write a haiku about code."}],
    ):
        delta = chunk["choices"][0]["delta"]
        pieces.append(delta.get("content", ""))
    assert "".join(pieces) == "You said: Write a haiku about code."
    assert len([p for p in pieces if p]) > 1, "the answer must arrive in several chunks"


async def test_text_stream_then_final_completion_match_a_plain_call(flow: FlowSDK) -> None:
    stream = await flow.gateway.stream_chat_completion(
        model="offline/chat", messages=[{"role": "user", "content": "Name three colours."}]
    )
    texts = [text async for text in stream.text_stream()]
    final = await stream.final_completion()
    plain = await flow.gateway.chat_completion(
        model="offline/chat", messages=[{"role": "user", "content": "Name three colours."}]
    )
    assert len(texts) > 1 and all(texts)
    assert "".join(texts) == plain["choices"][0]["message"]["content"]
    assert final["object"] == "chat.completion"
    assert final["choices"][0]["message"] == {"role": "assistant", "content": "".join(texts)}
    assert final["choices"][0]["finish_reason"] == plain["choices"][0]["finish_reason"]
    assert final["usage"] == plain["usage"]


async def test_final_completion_alone_reads_the_whole_stream(flow: FlowSDK) -> None:
    async with await flow.gateway.stream_chat_completion(
        model="offline/chat", messages=[{"role": "user", "content": "one two three"}], max_tokens=2
    ) as stream:
        final = await stream.final_completion()
    assert final["choices"][0]["finish_reason"] == "length"
    assert final["model"] == "offline/chat"
    assert stream.response.is_closed


async def test_final_completion_after_an_early_break_is_an_error(flow: FlowSDK) -> None:
    stream = await flow.gateway.stream_chat_completion(
        model="offline/chat", messages=[{"role": "user", "content": "one two three four"}]
    )
    async for _ in stream.text_stream():
        break
    with pytest.raises(GatewayStreamError, match="left before its end"):
        await stream.final_completion()
    await stream.aclose()


async def test_embedding(flow: FlowSDK) -> None:
    result = await flow.gateway.embedding(
        model="offline/embed",
        input="Manifest Platform is an enterprise AI operating system.",
    )
    vector = result["data"][0]["embedding"]
    assert len(vector) == 384
    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-4)
    again = await flow.gateway.embedding(
        model="offline/embed", input="Manifest Platform is an enterprise AI operating system."
    )
    assert again["data"][0]["embedding"] == vector


async def test_embedding_batch_keeps_order(flow: FlowSDK) -> None:
    result = await flow.gateway.embedding(model="offline/embed", input=["alpha", "beta", "gamma"])
    assert [item["index"] for item in result["data"]] == [0, 1, 2]
    single = await flow.gateway.embedding(model="offline/embed", input="beta")
    assert result["data"][1]["embedding"] == single["data"][0]["embedding"]


async def test_seed_chat_example_runs_as_written(flow: FlowSDK) -> None:
    response = await flow.gateway.chat_completion(
        model="openai/gpt-4o",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        temperature=0.7,
        max_tokens=256,
    )
    print(response["choices"][0]["message"]["content"])
    assert response["choices"][0]["message"]["content"] == "You said: What is the capital of France?"
    assert response["model"] == "openai/gpt-4o"


async def test_seed_stream_example_runs_as_written(flow: FlowSDK) -> None:
    pieces: list[str] = []
    models: set[str] = set()
    async for chunk in await flow.gateway.stream_chat_completion(
        model="anthropic/claude-sonnet-4-20250514",
        messages=[{"role": "user", "content": "Write a haiku about code."}],
    ):
        delta = chunk["choices"][0]["delta"]
        print(delta.get("content", ""), end="", flush=True)
        pieces.append(delta.get("content", ""))
        models.add(chunk["model"])
    assert "".join(pieces) == "You said: Write a haiku about code."
    assert models == {"anthropic/claude-sonnet-4-20250514"}


async def test_seed_embedding_example_runs_as_written(flow: FlowSDK) -> None:
    result = await flow.gateway.embedding(
        model="openai/text-embedding-3-small",
        input="Manifest Platform is an enterprise AI operating system.",
    )
    vector = result["data"][0]["embedding"]
    assert len(vector) == 1536
    assert result["model"] == "openai/text-embedding-3-small"
    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-4)


@pytest.mark.parametrize("model", ["openai/does-not-exist", "nope/model", "offline/nope"])
async def test_unknown_model_is_not_found(flow: FlowSDK, model: str) -> None:
    with pytest.raises(GatewayModelNotFoundError) as caught:
        await flow.gateway.chat_completion(model=model, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 404
    assert caught.value.request_id
    assert model in str(caught.value.detail)


async def test_stream_of_unknown_model_is_not_found(flow: FlowSDK) -> None:
    with pytest.raises(GatewayModelNotFoundError):
        async for _chunk in await flow.gateway.stream_chat_completion(
            model="anthropic/claude-does-not-exist",
            messages=[{"role": "user", "content": "Write a haiku about code."}],
        ):
            pass


async def test_embedding_of_unknown_model_is_not_found(flow: FlowSDK) -> None:
    with pytest.raises(GatewayModelNotFoundError):
        await flow.gateway.embedding(model="openai/text-embedding-does-not-exist", input="x")


async def test_models_list_offline(flow: FlowSDK) -> None:
    models = await flow.gateway.list_models()
    owners = {model["id"]: model["owned_by"] for model in models["data"]}
    assert {"offline/chat", "offline/embed"} <= owners.keys()
    assert owners["openai/gpt-4o"] == "offline (stand-in for openai)"
    assert owners["anthropic/claude-sonnet-4-20250514"] == "offline (stand-in for anthropic)"
    assert "openai/does-not-exist" not in owners


async def test_gateway_client_standalone(runtime_env: dict[str, str]) -> None:
    async with GatewayClient(runtime_env["GATEWAY_URL"], runtime_env["AUTH_TOKEN"]) as client:
        response = await client.chat_completion("offline/echo", [{"role": "user", "content": "ping"}])
    assert response["choices"][0]["message"]["content"].endswith("ping")
