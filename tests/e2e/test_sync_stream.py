"""SyncFlowSDK's streamed chat completion, against the local platform's gateway.

No model provider is called: the platform's offline provider stands in for the upstream one (it answers
``offline/chat`` by repeating the question, a word per chunk), so every answer is known in advance.
The stream is read through an ``httpx.Client`` from the open response, chunk by chunk, with no event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from flow_sdk import GatewayStreamError
from flow_sdk.gateway_client import GatewayModelNotFoundError
from flow_sdk.sync_flow_sdk import SyncFlowSDK

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
ANSWER = "You said: What is the capital of France?"
LONG = [{"role": "user", "content": " ".join(f"word{n}" for n in range(3000))}]


@pytest.fixture
def sync_flow(runtime_env: dict[str, str]) -> Iterator[SyncFlowSDK]:
    """``SyncFlowSDK()`` configured from the runtime variables."""
    with SyncFlowSDK() as flow:
        yield flow


def test_chunks_are_read_as_they_arrive_not_buffered(sync_flow: SyncFlowSDK) -> None:
    stream = sync_flow.gateway.stream_chat_completion(model="offline/chat", messages=LONG)
    chunks = iter(stream)
    next(chunks)
    read_for_the_first = stream.response.num_bytes_downloaded
    rest = list(chunks)
    assert len(rest) > 3000
    assert read_for_the_first * 4 < stream.response.num_bytes_downloaded, (
        "the first chunk came before the bulk of the answer was read"
    )
    assert stream.response.is_closed


def test_text_stream_then_final_completion_match_a_plain_call(sync_flow: SyncFlowSDK) -> None:
    with sync_flow.gateway.stream_chat_completion(model="offline/chat", messages=QUESTION) as stream:
        texts = list(stream.text_stream())
        final = stream.final_completion()
    plain = sync_flow.gateway.chat_completion(model="offline/chat", messages=QUESTION)
    assert len(texts) > 1
    assert "".join(texts) == final["choices"][0]["message"]["content"] == ANSWER
    assert plain["choices"][0]["message"]["content"] == ANSWER
    assert final["usage"] == plain["usage"]
    assert stream.response.is_closed


def test_final_completion_alone_reads_the_whole_stream(sync_flow: SyncFlowSDK) -> None:
    stream = sync_flow.gateway.stream_chat_completion(model="offline/chat", messages=QUESTION)
    assert stream.final_completion()["choices"][0]["message"]["content"] == ANSWER


def test_a_stream_left_early_has_no_final_completion(sync_flow: SyncFlowSDK) -> None:
    with sync_flow.gateway.stream_chat_completion(model="offline/chat", messages=LONG) as stream:
        for _ in stream.text_stream():
            break
        with pytest.raises(GatewayStreamError, match="left before its end"):
            stream.final_completion()
    assert stream.response.is_closed


def test_an_unknown_model_is_refused_before_any_chunk(sync_flow: SyncFlowSDK) -> None:
    with pytest.raises(GatewayModelNotFoundError):
        sync_flow.gateway.stream_chat_completion(model="nope/none", messages=QUESTION)


def test_the_stream_needs_no_event_loop(runtime_env: dict[str, str]) -> None:
    async def inside_a_running_loop() -> str:
        with SyncFlowSDK() as flow:
            return "".join(flow.gateway.stream_chat_completion("offline/chat", QUESTION).text_stream())

    assert asyncio.run(inside_a_running_loop()) == ANSWER
