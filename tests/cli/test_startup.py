"""The platform answers before its components run: what the start path imports, what waits, how it stops.

No test here measures time: `python -m benchmarks --only startup` does, against a baseline.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from flow_local.app import create_app
from flow_local.core import Platform
from flow_local.errors import install_error_handlers
from flow_local.settings import Settings
from flow_local.startup import BackgroundStart, wait_for_components

from .test_local_serve import FLOW, _assert_all_gone, descendants, wait_healthy

DEFERRED = (
    "nats",
    "aiohttp",
    "flow_local.runtime.engine",
    "flow_local.console.routes",
    "jinja2",
    "numpy",
    "httpx",
    "jwt",
    "yaml",
    "typer",
)
"""Modules the platform's first answer must not wait for."""

FIRST_ANSWER = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path

    import flow_local.serving
    import uvicorn
    from flow_local.app import create_app
    from flow_local.settings import Settings

    app = create_app(Settings.load(Path(sys.argv[1]), host="127.0.0.1", port=1))
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/api/v1/health", "raw_path": b"/api/v1/health", "root_path": "",
        "query_string": b"", "headers": [], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 1),
    }
    asyncio.run(app(scope, receive, send))
    print(json.dumps({"status": sent[0]["status"], "body": sent[1]["body"].decode(), "modules": sorted(sys.modules)}))
    """
)


def test_the_first_answer_imports_none_of_the_deferred_modules(tmp_path: Path) -> None:
    """A fresh interpreter imports what the serving child imports, builds the app, answers /health."""
    done = subprocess.run(
        [sys.executable, "-c", FIRST_ANSWER, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200 and json.loads(answer["body"])["status"] == "ok"
    loaded = set(answer["modules"])
    assert "fastapi" in loaded and "flow_local.app" in loaded
    assert sorted(loaded & set(DEFERRED)) == []


async def test_the_console_loads_with_its_first_page_and_routing_stays_the_same(tmp_path: Path) -> None:
    app = create_app(Settings.load(tmp_path / "data"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            assert (await client.get("/api/v1/health")).status_code == 200
            unknown = await client.get("/no/such/page")
            assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
            wrong_method = await client.delete("/api/v1/health")
            assert wrong_method.status_code == 405
            login = await client.get("/login")
            assert login.status_code == 200 and "<form" in login.text
            assert (await client.get("/services")).status_code == 303
            assert (await client.get("/static/console/console.css")).status_code == 200
            assert (await client.post("/static/console/console.css")).status_code == 405
    finally:
        app.state.platform.close()


class SlowComponent:
    """A component whose start waits until the test lets it go."""

    def __init__(self, go: asyncio.Event, fail: bool = False) -> None:
        self.go = go
        self.fail = fail
        self.running = False
        self.stopped = False

    async def start(self, platform: Platform) -> None:
        await self.go.wait()
        if self.fail:
            raise RuntimeError("the NATS server did not start")
        self.running = True

    async def stop(self) -> None:
        self.stopped = True


def _app_with(starter: BackgroundStart, component: SlowComponent) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.startup = starter
    router = APIRouter()

    @router.get("/needs-component")
    async def needs_component() -> dict[str, bool]:
        return {"running": component.running}

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    wait_for_components(router.routes, starter)
    app.router.routes.extend(router.routes)
    return app


@pytest.mark.parametrize("fail", [False, True])
async def test_a_request_for_a_component_waits_for_its_start(tmp_path: Path, fail: bool) -> None:
    go = asyncio.Event()
    component = SlowComponent(go, fail)
    platform = Platform(Settings.load(tmp_path / "data"))
    starter = BackgroundStart(platform, [lambda: component])
    app = _app_with(starter, component)
    try:
        starter.begin()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            assert (await client.get("/health")).status_code == 200
            waiting = asyncio.create_task(client.get("/needs-component"))
            await asyncio.sleep(0.05)
            assert not waiting.done(), "the request did not wait for the component"
            go.set()
            answer = await waiting
        if fail:
            assert answer.status_code == 503
            assert "the NATS server did not start" in answer.json()["detail"]
        else:
            assert answer.status_code == 200 and answer.json() == {"running": True}
        await starter.stop()
        assert component.stopped, "a component whose start failed was not stopped"
        assert platform.components == []
    finally:
        platform.close()


@pytest.mark.slow
def test_sigterm_while_the_components_start_leaves_no_process(tmp_path: Path) -> None:
    """Stopped right after its first answer, while NATS and the runners start: all of it goes."""
    from flow_local.ports import free_port

    port = free_port()
    process = subprocess.Popen(
        [FLOW, "local", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: set[int] = set()
    try:
        wait_healthy(f"http://127.0.0.1:{port}", lambda: process.poll() is None)
        process.send_signal(signal.SIGTERM)
        while process.poll() is None:
            seen |= descendants(process.pid)
            time.sleep(0.02)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert "stopped database" in output
    _assert_all_gone(seen)
