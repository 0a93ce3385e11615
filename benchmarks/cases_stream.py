"""SSE chat stream throughput: FlowSDK ``stream_chat_completion`` against httpx ``aiter_lines``."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from benchmarks.cases_http import CHAT_PATH, make_flow
from benchmarks.common import Samples, bench_token, chat_body, close_quietly, describe, require_method
from benchmarks.report import DASH, TIMES, Row, verdict
from benchmarks.settings import Settings
from benchmarks.stats import paired_ratio, summarize

RATIO_BAR = 1.0

StreamReader = Callable[[], Awaitable[int]]


def stream_row() -> Row:
    """The empty row of the streaming figure."""
    return Row(
        key="sse_stream",
        figure="SSE chat stream through flow.gateway.stream_chat_completion",
        baseline="httpx stream + aiter_lines + json.loads (same stream)",
        unit="chunks/CPU-s",
        bar=f"≥ {RATIO_BAR:.2f}{TIMES}",
    )


async def chunks_per_second(read: StreamReader, expected: int, into: Samples | None = None) -> None:
    """Read one whole stream with ``read``; record chunks per second of client CPU and of wall time.

    Raises:
        RuntimeError: When the stream did not yield ``expected`` chunks.
    """
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    count = await read()
    cpu_seconds, wall_seconds = time.process_time() - cpu, time.perf_counter() - wall
    if count != expected:
        raise RuntimeError(f"stream yielded {count} chunks, expected {expected}")
    if into is not None:
        into.add(count / max(cpu_seconds, 1e-9), count / wall_seconds)


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
    base = samples["httpx"]
    row.baseline_value = summarize(base.cpu)
    row.extra["baseline_wall_median"] = summarize(base.wall).median
    if "sdk" not in samples:
        return row.unavailable(row.reason)
    sdk = samples["sdk"]
    row.value = summarize(sdk.cpu)
    ratios = paired_ratio(sdk.cpu, base.cpu)
    row.ratio = ratios.median
    row.extra["paired_ratio_iqr"] = f"{ratios.q1:.3f}{DASH}{ratios.q3:.3f}"
    row.extra["wall_median"] = summarize(sdk.wall).median
    row.extra["wall_ratio"] = round(paired_ratio(sdk.wall, base.wall).median, 3)
    row.status = verdict(row.ratio >= RATIO_BAR)
    return row


async def alternate(readers: dict[str, StreamReader], settings: Settings) -> dict[str, Samples]:
    """Warm up each reader once, then read ``stream_repeats`` streams with each, alternating order."""
    names = list(readers)
    for name in names:
        await chunks_per_second(readers[name], settings.stream_chunks)
    samples = {name: Samples() for name in names}
    for repeat in range(settings.stream_repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            await chunks_per_second(readers[name], settings.stream_chunks, samples[name])
    return samples
