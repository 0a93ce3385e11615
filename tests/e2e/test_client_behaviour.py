"""How the clients behave around the calls, against the real local platform: event loops, proxies,
retries of hosted-service calls, and debug logging without credentials.
"""

from __future__ import annotations

import asyncio
import http.client
import http.server
import os
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from flow_local.harness import LocalPlatform
from flow_sdk import CLIClient, FlowConfig, FlowSDK, PlatformExecutionError

from .conftest import created

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
FAILING_SERVICE = """
from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()
calls = {"fail": 0}


@app.post("/fail")
async def fail() -> JSONResponse:
    calls["fail"] += 1
    return JSONResponse({"detail": "boom"}, status_code=500)


@app.get("/calls")
async def count() -> dict[str, int]:
    return calls
"""


def test_one_flow_sdk_serves_three_asyncio_run_calls(runtime_env: dict[str, str]) -> None:
    flow = FlowSDK()
    keys = [f"loops/{n}.txt" for n in range(3)]
    for key in keys:
        stored = asyncio.run(flow.storage.upload(key, key.encode()))
        assert stored["key"] == key
    listed = asyncio.run(flow.storage.list("loops/"))
    assert sorted(item["key"] for item in listed) == keys
    asyncio.run(flow.close())


class _CountingProxy(http.server.BaseHTTPRequestHandler):
    """A forward HTTP proxy that records every request line it relays."""

    protocol_version = "HTTP/1.1"
    seen: list[str]

    def _relay(self) -> None:
        type(self).seen.append(f"{self.command} {self.path}")
        target = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")
        }
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        path = target.path + (f"?{target.query}" if target.query else "")
        upstream.request(self.command, path, body=body or None, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = do_PUT = do_DELETE = _relay

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[str]]]:
    """A counting proxy on loopback; the proxy variables are cleared for the test to set."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    handler = type("Proxy", (_CountingProxy,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_proxy_from_the_environment_carries_the_traffic_unless_no_proxy_names_the_host(
    lp: LocalPlatform,
    runtime_env: dict[str, str],
    proxy: tuple[str, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy_url, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    config = FlowConfig(platform_url=lp.url, access_token=lp.admin_token, org_id=lp.org_id)

    async def list_secrets() -> None:
        async with FlowSDK() as flow:
            await flow.secrets.list()

    with CLIClient(config) as cli:
        assert cli.list_orgs()
    asyncio.run(list_secrets())
    assert any(line.startswith("GET http://127.0.0.1") and "/tenants/orgs" in line for line in seen), seen
    assert any("/secrets" in line for line in seen), seen

    relayed = len(seen)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with CLIClient(config) as cli:
        assert cli.list_orgs()
    asyncio.run(list_secrets())
    assert len(seen) == relayed, "NO_PROXY names the platform's host: nothing may go through the proxy"


def test_a_hosted_service_post_answering_500_is_sent_once(
    lp: LocalPlatform, runtime_env: dict[str, str]
) -> None:
    config = FlowConfig(
        platform_url=lp.url, access_token=lp.admin_token, org_id=lp.org_id, workspace_id=lp.workspace_id
    )
    with CLIClient(config) as cli:
        deployed = cli.hosted_services.deploy("failing", "main:app", files={"main.py": FAILING_SERVICE})
        assert deployed["status"] == "running"

        async def post_fail() -> None:
            async with FlowSDK() as flow:
                await flow.services.post("/fail", service_id="failing", body={"x": 1})

        with pytest.raises(PlatformExecutionError) as caught:
            asyncio.run(post_fail())
        assert caught.value.status_code == 500
        with pytest.raises(Exception) as cli_caught:
            cli.invoke_service("failing", "POST", "/fail", body={"x": 1})
        assert getattr(cli_caught.value, "status_code", None) == 500
        assert cli.invoke_service("failing", "GET", "/calls") == {"fail": 2}


def test_debug_log_shows_requests_and_never_the_token(lp: LocalPlatform, runtime_env: dict[str, str]) -> None:
    script = "import asyncio\nfrom flow_sdk import FlowSDK\n\nasync def main():\n    async with FlowSDK() as flow:\n        await flow.secrets.list()\n\nasyncio.run(main())\n"
    env = {**os.environ, **runtime_env, "FLOW_LOG": "debug"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "flow_sdk DEBUG request GET /api/v1/orgs/" in result.stderr
    assert "-> 200 (request_id=" in result.stderr
    assert "'authorization': '<redacted>'" in result.stderr.lower()
    assert runtime_env["AUTH_TOKEN"] not in result.stderr + result.stdout


def test_with_options_sends_through_a_brought_client_with_its_own_options(
    runtime_env: dict[str, str],
) -> None:
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    async def main() -> None:
        async with httpx.AsyncClient(event_hooks={"request": [record]}) as mine, FlowSDK() as flow:
            tuned = flow.with_options(
                timeout=7, max_retries=0, extra_headers={"X-Trace": "t1"}, http_client=mine
            )
            assert await tuned.secrets.list() == await flow.secrets.list()

    asyncio.run(main())
    assert len(seen) == 1, "only the configured copy sends through the brought client"
    assert seen[0].headers["X-Trace"] == "t1"
    assert seen[0].headers["Authorization"] == f"Bearer {runtime_env['AUTH_TOKEN']}"
    assert seen[0].extensions["timeout"]["read"] == 7


async def test_one_idempotency_key_submits_an_execution_once(flow: FlowSDK, admin: httpx.Client) -> None:
    block = created(
        admin.post(
            "/components/code_block", json={"name": "once", "spec": {"source": "def main():\n    return 1\n"}}
        )
    )
    keyed = flow.with_options(idempotency_key="submit-once-1")
    first = await keyed.code_blocks.submit(block["id"], {})
    again = await flow.with_options(idempotency_key="submit-once-1").code_blocks.submit(block["id"], {})
    other = await flow.code_blocks.submit(block["id"], {})
    assert first["execution_id"] == again["execution_id"] != other["execution_id"]


def test_cli_client_with_options_keeps_the_configuration(lp: LocalPlatform) -> None:
    seen: list[httpx.Request] = []
    config = FlowConfig(platform_url=lp.url, access_token=lp.admin_token, org_id=lp.org_id)
    with (
        httpx.Client(event_hooks={"request": [seen.append]}) as mine,
        CLIClient(config) as cli,
        cli.with_options(timeout=9, extra_headers={"X-Trace": "t2"}, http_client=mine) as tuned,
    ):
        assert tuned.list_orgs() == cli.list_orgs()
    assert len(seen) == 1 and seen[0].headers["X-Trace"] == "t2"
    assert seen[0].extensions["timeout"]["read"] == 9


async def test_with_raw_response_gives_status_headers_and_request_id(
    flow: FlowSDK, lp: LocalPlatform
) -> None:
    await flow.storage.upload("raw/a.txt", b"a")
    raw = await flow.with_raw_response.storage.list("raw/")
    assert raw.status_code == 200 and raw.request_id
    assert raw.headers["content-type"].startswith("application/json")
    assert [item["key"] for item in raw.parsed] == ["raw/a.txt"]
    config = FlowConfig(platform_url=lp.url, access_token=lp.admin_token, org_id=lp.org_id)
    with CLIClient(config) as cli:
        orgs = cli.with_raw_response.list_orgs()
        assert orgs.status_code == 200 and orgs.request_id and orgs.parsed == cli.list_orgs()


def test_the_sync_twin_runs_the_same_calls_without_await(
    runtime_env: dict[str, str], admin: httpx.Client
) -> None:
    from flow_sdk.sync_flow_sdk import SyncFlowSDK

    block = created(
        admin.post(
            "/components/code_block",
            json={"name": "twin", "spec": {"source": "def main(x):\n    return x * 2\n"}},
        )
    )
    with SyncFlowSDK() as flow:
        flow.storage.upload("twin/a.txt", b"a")
        assert [item["key"] for item in flow.storage.list("twin/")] == ["twin/a.txt"]
        envelope = flow.code_blocks.run(block["id"], {"x": 21})
        assert envelope["status"] == "completed" and envelope["output"] == 42
        assert flow.code_blocks.run(block["id"], {"x": 2}, result_mode="output") == 4
        token = flow.bind_request_context(service={"component_id": "twin-state"})
        flow.state.set("k", {"v": 1})
        assert flow.state.get("k") == {"v": 1}
        flow.reset_request_context(token)


def test_the_sync_twin_sends_single_requests_without_an_event_loop(runtime_env: dict[str, str]) -> None:
    """A request-and-answer method of the twin sends through httpx.Client: it works where a loop runs."""
    from flow_sdk.sync_flow_sdk import SyncFlowSDK

    async def inside_a_running_loop() -> tuple[Any, Any, bytes, list[str]]:
        with SyncFlowSDK() as flow:
            token = flow.bind_request_context(service={"component_id": "twin-direct"})
            try:
                flow.state.set("k", [1, 2])
                value, missing = flow.state.get("k"), flow.state.get("absent", "fallback")
            finally:
                flow.reset_request_context(token)
            flow.storage.upload("direct/a.bin", b"\x00\x01")
            keys = [item["key"] for item in flow.storage.list("direct/")]
            return value, missing, flow.storage.download("direct/a.bin"), keys

    assert asyncio.run(inside_a_running_loop()) == ([1, 2], "fallback", b"\x00\x01", ["direct/a.bin"])
