"""SSE chat stream throughput: FlowSDK ``stream_chat_completion`` against httpx ``aiter_lines``."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from benchmarks.cases_http import CHAT_PATH, make_flow
from benchmarks.common import bench_token, chat_body, close_quietly, describe, require_method
from benchmarks.report import Row, verdict
from benchmarks.settings import Settings
from benchmarks.stats import paired_ratio, summarize

RATIO_BAR = 0.90

StreamReader = Callable[[], Awaitable[int]]


def stream_row() -> Row:
    """The empty row of the streaming figure."""
    return Row(
        key="sse_stream",
        figure="SSE chat stream through flow.gateway.stream_chat_completion",
        baseline="httpx stream + aiter_lines + json.loads (same stream)",
        unit="chunks/s",
        bar=f"≥ {RATIO_BAR:.2f}×",
    )


async def chunks_per_second(read: StreamReader, expected: int) -> float:
    """Read one whole stream with ``read``; return chunks per second.

    Raises:
        RuntimeError: When the stream did not yield ``expected`` chunks.
    """
    gc.collect()
    start = time.perf_counter()
    count = await read()
    elapsed = time.perf_counter() - start
    if count != expected:
        raise RuntimeError(f"stream yielded {count} chunks, expected {expected}")
    return count / elapsed


def raw_reader(raw: httpx.AsyncClient) -> StreamReader:
    """The baseline: POST with ``stream: true``, split lines, ``json.loads`` each ``data:`` line."""
    body = chat_body(stream=True)

    async def read() -> int:
        count = 0
        async with raw.stream("POST", CHAT_PATH, json=body) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    break
                json.loads(data)
                count += 1
        return count

    return read


def sdk_reader(flow: Any) -> StreamReader:
    """The SDK: iterate ``await flow.gateway.stream_chat_completion(...)`` to its end."""
    stream = require_method(flow.gateway, "stream_chat_completion", "flow.gateway")
    body = chat_body()

    async def read() -> int:
        count = 0
        async for _chunk in await stream(model=body["model"], messages=body["messages"]):
            count += 1
        return count

    return read


async def measure_stream(settings: Settings, url: str) -> Row:
    """Fill the streaming row: chunks/s of the SDK and of the baseline, alternating."""
    row = stream_row()
    token = bench_token()
    flow: Any = None
    readers: dict[str, StreamReader] = {}
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as raw:
        readers["httpx"] = raw_reader(raw)
        try:
            flow = make_flow(url, token)
            readers["sdk"] = sdk_reader(flow)
            await chunks_per_second(readers["sdk"], settings.stream_chunks)
        except Exception as exc:
            readers.pop("sdk", None)
            row.reason = describe(exc)
        try:
            samples = await alternate(readers, settings)
        finally:
            if flow is not None:
                await close_quietly(flow)
    row.baseline_value = summarize(samples["httpx"])
    if "sdk" not in samples:
        return row.unavailable(row.reason)
    row.value = summarize(samples["sdk"])
    ratios = paired_ratio(samples["sdk"], samples["httpx"])
    row.ratio = ratios.median
    row.extra["paired_ratio_iqr"] = f"{ratios.q1:.3f}–{ratios.q3:.3f}"
    row.status = verdict(row.ratio >= RATIO_BAR)
    return row


async def alternate(readers: dict[str, StreamReader], settings: Settings) -> dict[str, list[float]]:
    """Warm up each reader once, then read ``stream_repeats`` streams with each, alternating order."""
    names = list(readers)
    for name in names:
        await chunks_per_second(readers[name], settings.stream_chunks)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(settings.stream_repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            samples[name].append(await chunks_per_second(readers[name], settings.stream_chunks))
    return samples
