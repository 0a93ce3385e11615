"""Figures measured against the local platform: await_result latency, code block runs, vector search."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, cast

import httpx

from benchmarks.common import Unavailable, close_quietly, describe, load, require_method
from benchmarks.connections import peak_connections
from benchmarks.report import Row, verdict
from benchmarks.settings import Settings
from benchmarks.stats import summarize

AWAIT_LATENCY_BAR_MS = 20.0
AWAIT_REQUESTS_BAR = 3
RUN_BAR_MS = 5.0
BURST_RATE_BAR = 500.0
BURST_CONNECTIONS_BAR = 8

SLEEPING_BLOCK = """
import time


def main(seconds: float) -> dict:
    time.sleep(seconds)
    return {"slept": seconds}
"""

TRIVIAL_BLOCK = """
def main(x: int) -> dict:
    return {"y": x + 1}
"""


class LocalTarget:
    """The local platform's settings, a FlowSDK pointed at it, and a raw client for setup.

    Attributes:
        url: The platform's base URL.
        org_id: The default organization.
        workspace_id: The default workspace.
        ring_id: The default ring.
        token: A bearer token for the default workspace.
        flow: A FlowSDK configured for the platform.
        raw: An httpx client with the token, for setup calls that are not measured.
    """

    def __init__(self, platform: Any, flow: Any, raw: httpx.AsyncClient) -> None:
        self.url = str(platform.url)
        self.org_id = str(platform.org_id)
        self.workspace_id = str(platform.workspace_id)
        self.ring_id = str(platform.ring_id)
        self.token = platform_token(platform)
        self.flow = flow
        self.raw = raw

    @property
    def workspace_path(self) -> str:
        """``/api/v1/orgs/{org}/workspaces/{workspace}``."""
        return f"/api/v1/orgs/{self.org_id}/workspaces/{self.workspace_id}"

    async def create_code_block(self, name: str, source: str) -> str:
        """Create a code block component with ``source``; return its id."""
        response = await self.raw.post(
            f"{self.workspace_path}/components/code_block", json={"name": name, "spec": {"source": source}}
        )
        if response.status_code != 201:
            raise Unavailable(f"creating a code block answered {response.status_code}: {response.text[:200]}")
        return str(response.json()["id"])


def platform_token(platform: Any) -> str:
    """A user token of the started platform (``token``, else ``admin_token``)."""
    token = getattr(platform, "token", None) or getattr(platform, "admin_token", None)
    if not token:
        raise Unavailable("the local platform offers no token (neither .token nor .admin_token)")
    return str(token)


def make_local_flow(platform: Any) -> Any:
    """A FlowSDK configured for the local platform ``platform``."""
    flow_sdk_class = load("flow_sdk:FlowSDK")
    return flow_sdk_class(
        org_id=str(platform.org_id),
        workspace_id=str(platform.workspace_id),
        auth_token=platform_token(platform),
        platform_url=str(platform.url),
        gateway_url=str(platform.url),
        ring_id=str(platform.ring_id),
    )


def sending_transports() -> list[type[Any]]:
    """The transport classes an SDK request may leave through: httpx's pool, and aiohttp's when installed."""
    classes: list[type[Any]] = [httpx.AsyncHTTPTransport]
    with suppress(Unavailable):
        classes.append(load("flow_sdk._aiohttp:FlowAiohttpTransport"))
    return classes


@contextmanager
def count_requests(marker: str) -> Iterator[list[str]]:
    """Count requests sent through the SDK's sending transports whose URL or JSON body contains ``marker``
    (a wait for several results names the execution ids in its body).

    Yields the list of matching ``METHOD path?query`` strings; it fills while the block runs.
    """
    seen: list[str] = []
    originals = {cls: cls.handle_async_request for cls in sending_transports()}

    def counting(original: Any) -> Any:
        async def handle(self: httpx.AsyncBaseTransport, request: httpx.Request) -> httpx.Response:
            if marker in str(request.url) or marker.encode() in _body(request):
                seen.append(f"{request.method} {request.url.raw_path.decode()}")
            return cast(httpx.Response, await original(self, request))

        return handle

    for cls, original in originals.items():
        cls.handle_async_request = counting(original)
    try:
        yield seen
    finally:
        for cls, original in originals.items():
            cls.handle_async_request = original


def _body(request: httpx.Request) -> bytes:
    """The request's body when it was given whole (a streamed body is not read here)."""
    return request.content if isinstance(request.stream, httpx.ByteStream) else b""


def timestamp(value: Any) -> float:
    """Seconds since the epoch of an ISO 8601 date-time from the server.

    Raises:
        Unavailable: When the value is missing or not a date-time.
    """
    if not value:
        raise Unavailable("the result envelope has no finished_at to compare against")
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.timestamp()


def await_row() -> Row:
    """The empty row of the await_result figure."""
    return Row(
        key="await_result_latency",
        figure="finished execution → flow.code_blocks.await_result returns (local platform)",
        baseline="the server's finished_at of the execution",
        unit="ms after finish",
        bar=f"≤ {AWAIT_LATENCY_BAR_MS:g} ms median; ≤ {AWAIT_REQUESTS_BAR} requests",
    )


async def measure_await_result(target: LocalTarget, settings: Settings) -> Row:
    """Submit a sleeping code block, await its result, and measure the lag after it finished."""
    row = await_row()
    code_blocks = target.flow.code_blocks
    submit = require_method(code_blocks, "submit", "flow.code_blocks")
    await_result = require_method(code_blocks, "await_result", "flow.code_blocks")
    block_id = await target.create_code_block("bench-sleep", SLEEPING_BLOCK)
    lags: list[float] = []
    requests: list[int] = []
    for _ in range(settings.exec_repeats):
        handle = await submit(
            code_block_id=block_id,
            input_parameters={"seconds": settings.exec_sleep_seconds},
            ring_id=target.ring_id,
        )
        execution_id = str(handle["execution_id"])
        with count_requests(execution_id) as seen:
            envelope = await await_result(execution_id, timeout_seconds=60)
            returned = time.time()
        if envelope.get("status") != "completed":
            raise Unavailable(
                f"the sleeping code block ended {envelope.get('status')}: {envelope.get('error')}"
            )
        lags.append((returned - timestamp(envelope.get("finished_at"))) * 1000)
        requests.append(len(seen))
    row.value = summarize(lags)
    row.extra = {
        "execution_seconds": settings.exec_sleep_seconds,
        "requests_per_await": requests,
        "max_requests": max(requests),
    }
    row.status = verdict(row.value.median <= AWAIT_LATENCY_BAR_MS and max(requests) <= AWAIT_REQUESTS_BAR)
    return row


def run_rows() -> tuple[Row, Row]:
    """The empty rows of the code block run figures (latency, throughput)."""
    latency = Row(
        key="code_block_run_latency",
        figure="flow.code_blocks.run, trivial block, submit → result (local platform, warm pool)",
        baseline="—",
        unit="ms",
        bar=f"≤ {RUN_BAR_MS:g} ms median",
    )
    throughput = Row(
        key="code_block_run_throughput",
        figure="flow.code_blocks.run, trivial block, all submitted at once, one client (local platform)",
        baseline="—",
        unit="executions/s",
        bar=f"≥ {BURST_RATE_BAR:g}/s; ≤ {BURST_CONNECTIONS_BAR} client connections open",
    )
    return latency, throughput


async def measure_runs(target: LocalTarget, settings: Settings) -> tuple[Row, Row]:
    """Time sequential trivial runs after a warm-up, then bursts of runs submitted at once."""
    latency, throughput = run_rows()
    run = require_method(target.flow.code_blocks, "run", "flow.code_blocks")
    block_id = await target.create_code_block("bench-trivial", TRIVIAL_BLOCK)

    async def one(x: int) -> None:
        output = await run(
            code_block_id=block_id, input_parameters={"x": x}, ring_id=target.ring_id, result_mode="output"
        )
        if output != {"y": x + 1}:
            raise Unavailable(f"flow.code_blocks.run returned {output!r}, expected {{'y': {x + 1}}}")

    for x in range(settings.run_warmup):
        await one(x)
    times: list[float] = []
    for x in range(settings.run_repeats):
        start = time.perf_counter()
        await one(x)
        times.append((time.perf_counter() - start) * 1000)
    latency.value = summarize(times)
    latency.status = verdict(latency.value.median <= RUN_BAR_MS)
    rates: list[float] = []
    peaks: list[int] = []
    port = httpx.URL(target.url).port or 80
    for _ in range(settings.burst_repeats):
        start = time.perf_counter()
        async with peak_connections(port) as peak:
            await asyncio.gather(*(one(x) for x in range(settings.burst_size)))
        rates.append(settings.burst_size / (time.perf_counter() - start))
        peaks.append(peak[0])
    throughput.value = summarize(rates)
    throughput.extra = {"at_once": settings.burst_size, "max_client_connections": max(peaks)}
    throughput.status = verdict(
        throughput.value.median >= BURST_RATE_BAR and max(peaks) <= BURST_CONNECTIONS_BAR
    )
    return latency, throughput


def unavailable_rows(rows: list[Row], exc: BaseException) -> list[Row]:
    """Mark every row as not available because of ``exc``."""
    return [row.unavailable(describe(exc)) for row in rows]


async def run_local_cases(settings: Settings, platform: Any) -> list[Row]:
    """Every local-platform figure against a started ``platform``; a failing figure says why."""
    from benchmarks.cases_load import load_row, measure_concurrent_state
    from benchmarks.cases_vector import measure_vector_search, vector_row

    try:
        flow = make_local_flow(platform)
    except Exception as exc:
        return unavailable_rows([await_row(), *run_rows(), load_row(settings), vector_row(settings)], exc)
    rows: list[Row] = []
    async with httpx.AsyncClient(
        base_url=str(platform.url),
        headers={"Authorization": f"Bearer {platform_token(platform)}"},
        timeout=300,
    ) as raw:
        target = LocalTarget(platform, flow, raw)
        try:
            rows.append(await measure_await_result(target, settings))
        except Exception as exc:
            rows.extend(unavailable_rows([await_row()], exc))
        try:
            rows.extend(await measure_runs(target, settings))
        except Exception as exc:
            rows.extend(unavailable_rows(list(run_rows()), exc))
        try:
            rows.append(
                await measure_concurrent_state(target.url, target.token, target.workspace_path, settings)
            )
        except Exception as exc:
            rows.extend(unavailable_rows([load_row(settings)], exc))
        try:
            rows.append(await measure_vector_search(target, settings))
        except Exception as exc:
            rows.extend(unavailable_rows([vector_row(settings)], exc))
    await close_quietly(flow)
    return rows
