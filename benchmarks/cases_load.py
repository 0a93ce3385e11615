"""State reads through the local platform by many concurrent clients, against a bare Starlette JSON
endpoint on the same server stack (uvicorn with the same options), measured in the same run.

Both servers are driven by the same load: ``clients`` concurrent loops in this process, each on its own
keep-alive connection (aiohttp, the cheapest client here, so the client is not what is measured).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp

from benchmarks.common import Unavailable
from benchmarks.report import TIMES, Row, verdict
from benchmarks.servers import PROJECT_ROOT
from benchmarks.settings import Settings
from benchmarks.stats import summarize

RATIO_BAR = 0.5
STATE_KEY = "bench-key"
STATE_COMPONENT = "bench-load-component"


def load_row(settings: Settings) -> Row:
    """The empty row of the concurrent state-read figure."""
    return Row(
        key="state_get_concurrent",
        figure=f"state GET through the platform, {settings.load_clients} concurrent clients (local platform)",
        baseline="bare Starlette JSON endpoint, same uvicorn stack",
        unit="requests/s",
        bar=f"≥ {RATIO_BAR:.2f}{TIMES} its requests/s",
    )


def free_port() -> int:
    """A loopback port free at the time of asking."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def bare_server() -> Iterator[str]:
    """Run ``benchmarks.bare_server`` in a subprocess; yields its state URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.bare_server", "--port", str(port)]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        if not process.stdout.readline().startswith("PORT "):
            raise Unavailable(f"the bare Starlette server did not start (exit {process.poll()})")
        yield f"http://127.0.0.1:{port}/state"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_until_up(url: str, headers: dict[str, str], seconds: float = 15.0) -> None:
    """Retry a GET of ``url`` until it answers 200."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(headers=headers) as session:
        while True:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
                    raise Unavailable(
                        f"GET {url} answered {response.status}: {(await response.text())[:200]}"
                    )
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)


async def hammer(url: str, headers: dict[str, str], clients: int, seconds: float) -> float:
    """Requests per second answered 200 to ``clients`` concurrent GET loops over ``seconds``."""
    done = [0]
    failures = [0]
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def loop(deadline: float) -> None:
            while time.perf_counter() < deadline:
                async with session.get(url) as response:
                    await response.read()
                    if response.status == 200:
                        done[0] += 1
                    else:
                        failures[0] += 1

        await asyncio.gather(*(loop(time.perf_counter() + seconds / 4) for _ in range(clients)))  # warm-up
        done[0] = 0
        start = time.perf_counter()
        await asyncio.gather(*(loop(start + seconds) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    if failures[0]:
        raise Unavailable(f"{failures[0]} state reads did not answer 200")
    return done[0] / elapsed


async def measure_concurrent_state(url: str, token: str, workspace_path: str, settings: Settings) -> Row:
    """Alternate bursts against the platform's state read and the bare endpoint; ratio of medians."""
    row = load_row(settings)
    headers = {"Authorization": f"Bearer {token}"}
    state_url = f"{url}{workspace_path}/state/{STATE_COMPONENT}/keys/{STATE_KEY}"
    body = {"value": {"cursor": "2025-01-15T10:30:00Z"}}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.put(state_url, json=body) as response,
    ):
        if response.status >= 300:
            raise Unavailable(f"storing the state key answered {response.status}: {await response.text()}")
    rates: dict[str, list[float]] = {"platform": [], "bare": []}
    with bare_server() as bare_url:
        await wait_until_up(bare_url, headers)
        targets = {"platform": state_url, "bare": bare_url}
        for repeat in range(settings.load_repeats):
            order = ["platform", "bare"] if repeat % 2 == 0 else ["bare", "platform"]
            for name in order:
                rates[name].append(
                    await hammer(targets[name], headers, settings.load_clients, settings.load_seconds)
                )
    row.value = summarize(rates["platform"])
    row.baseline_value = summarize(rates["bare"])
    row.ratio = row.value.median / row.baseline_value.median
    row.extra = {
        "clients": settings.load_clients,
        "seconds_per_burst": settings.load_seconds,
        **server_stack(),
    }
    row.status = verdict(row.ratio >= RATIO_BAR)
    return row


def server_stack() -> dict[str, Any]:
    """Which event loop and HTTP parser uvicorn picks here ("auto": uvloop and httptools when installed)."""
    stack: dict[str, Any] = {}
    for name in ("uvloop", "httptools"):
        try:
            __import__(name)
            stack[name] = "installed"
        except ImportError:
            stack[name] = "absent"
    return stack
