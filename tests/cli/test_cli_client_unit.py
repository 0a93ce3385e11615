"""CLIClient and FlowConfig without a server: requests, error typing, secrecy, polling, the config file.

The HTTP side is an ``httpx.MockTransport`` (a function standing in for the platform), so these tests
check what is sent and how answers are mapped; the subprocess tests cover the real platform.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from flow_sdk import _unauthenticated as unauthenticated_module
from flow_sdk import cli_client as cli_client_module
from flow_sdk._errors import (
    CLIAuthenticationError,
    CLIClientError,
    ConfigurationError,
    PlatformExecutionError,
)
from flow_sdk._transport import build_sync_client
from flow_sdk.cli_client import CLIClient
from flow_sdk.config import FlowConfig, token_expiry

URL = "http://platform.test"
SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2VjcmV0LXNpZ25hdHVyZQ"
Handler = Callable[[httpx.Request], httpx.Response]


def jwt_with_exp(exp: float) -> str:
    """An unsigned JWT-shaped token with an ``exp`` claim (only the payload is ever read)."""
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "u", "exp": exp}).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{payload}.c2ln"


def error(status: int, detail: str, code: str = "error") -> httpx.Response:
    return httpx.Response(
        status,
        json={"detail": detail, "code": code, "request_id": "req_1"},
        headers={"X-Request-Id": "req_1"},
    )


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Callable[[Handler], list[httpx.Request]]:
    """Route every sync client CLIClient builds to ``handler``; return the list of requests seen."""

    def install(handler: Handler) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def record(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return handler(request)

        transport = httpx.MockTransport(record)
        mocked = functools.partial(build_sync_client, transport=transport)
        monkeypatch.setattr(cli_client_module, "build_sync_client", mocked)
        monkeypatch.setattr(unauthenticated_module, "build_sync_client", mocked)
        monkeypatch.setattr("flow_sdk._transport.sync_sleep", lambda seconds: None)
        return seen

    return install


def client(**overrides: Any) -> CLIClient:
    values = {
        "platform_url": URL,
        "access_token": SECRET,
        "org_id": "org1",
        "workspace_id": "ws1",
        **overrides,
    }
    return CLIClient(FlowConfig(**values))


# ------------------------------------------------------------------------ requests
def test_create_component_posts_to_the_workspace_catalog(serve: Any) -> None:
    seen = serve(lambda r: httpx.Response(201, json={"id": "c1", **json.loads(r.content)}))

    created = client().create_component("code_block", {"name": "wc", "spec": {"source": "x"}})

    assert created["id"] == "c1"
    assert seen[0].method == "POST"
    assert seen[0].url.path == "/api/v1/orgs/org1/workspaces/ws1/components/code_block"
    assert seen[0].headers["Authorization"] == f"Bearer {SECRET}"


def test_execute_ddl_defaults_scope_to_the_workspace(serve: Any) -> None:
    seen = serve(
        lambda r: httpx.Response(200, json={"status": "preview", "statements": ["CREATE TABLE t (a)"]})
    )

    client().execute_ddl("inst1", "CREATE TABLE t (a)")

    assert seen[0].url.path == "/api/v1/connectors/instances/inst1/execute-ddl"
    assert json.loads(seen[0].content) == {
        "scope_type": "workspace",
        "scope_id": "ws1",
        "sql": "CREATE TABLE t (a)",
        "confirm": False,
    }


def test_invoke_service_with_version_and_query(serve: Any) -> None:
    seen = serve(lambda r: httpx.Response(200, json={"ok": True}))

    answer = client().invoke_service("svc", "post", "/a/b", body={"x": 1}, query={"q": "1"}, version=2)

    assert answer == {"ok": True}
    assert seen[0].method == "POST"
    assert seen[0].url.path == "/api/v1/orgs/org1/services/svc/v2/a/b"
    assert seen[0].url.params["q"] == "1"
    with pytest.raises(CLIClientError, match="method must be one of"):
        client().invoke_service("svc", "PATCH", "/x")


def test_resource_namespaces_use_their_kind(serve: Any) -> None:
    seen = serve(lambda r: httpx.Response(200, json=[]))
    c = client()

    c.rings.list()
    c.hosted_services.list()
    c.mcp_servers.list()

    assert [r.url.path.rsplit("/", 1)[1] for r in seen] == ["ring", "hosted_service", "mcp_server"]


# ------------------------------------------------------------------------ errors and secrecy
def test_errors_are_typed_with_status_and_detail_and_never_show_the_token(
    serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    serve(
        lambda r: (
            error(401, "token expired", "unauthorized")
            if r.url.path == "/api/v1/tenants/orgs"
            else error(404, "component 'x' not found", "not_found")
        )
    )
    c = client()
    caplog.set_level(logging.DEBUG)

    with pytest.raises(CLIAuthenticationError) as auth:
        c.list_orgs()
    with pytest.raises(CLIClientError) as missing:
        c.code_blocks.get("x")

    assert auth.value.status_code == 401 and auth.value.detail == "token expired"
    assert missing.value.status_code == 404 and missing.value.request_id == "req_1"
    texts = [
        str(auth.value),
        repr(auth.value),
        str(missing.value),
        repr(c),
        repr(c._client),
        repr(c.config),
        caplog.text,
    ]
    assert all(SECRET not in text for text in texts)


def test_connection_failure_is_a_cli_error_without_the_token(serve: Any) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    serve(refuse)
    with pytest.raises(CLIClientError) as caught:
        client().get_current_user()
    assert caught.value.status_code is None and caught.value.code == "transport_error"
    assert SECRET not in str(caught.value)


def test_exchange_api_key_maps_a_rejected_key(serve: Any) -> None:
    seen = serve(lambda r: error(401, "the API key is not valid", "unauthorized"))

    with pytest.raises(
        CLIAuthenticationError, match=r"API key exchange failed \(401\): the API key is not valid"
    ):
        CLIClient.exchange_api_key(URL, "fl_bad")
    assert json.loads(seen[0].content) == {"api_key": "fl_bad", "ttl_minutes": 60}
    assert "Authorization" not in seen[0].headers


def test_get_current_user_with_token_sends_that_token(serve: Any) -> None:
    seen = serve(lambda r: httpx.Response(200, json={"subject_id": "u", "org_id": "o"}))

    assert CLIClient.get_current_user_with_token(URL, "tok-123")["subject_id"] == "u"
    assert seen[0].headers["Authorization"] == "Bearer tok-123"


# ------------------------------------------------------------------------ polling
def test_wait_for_cli_login_polls_until_approved(serve: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(
        [
            {"status": "pending"},
            {"status": "pending"},
            {"status": "approved", "access_token": "t", "org_id": "o"},
        ]
    )
    seen = serve(lambda r: httpx.Response(200, json={"request_id": "r1", **next(answers)}))
    monkeypatch.setattr(cli_client_module.time, "sleep", lambda seconds: None)

    status = CLIClient.wait_for_cli_login(
        URL, {"request_id": "r1", "user_code": "AAAA-BBBB", "interval": 1, "expires_in": 60}
    )

    assert status["access_token"] == "t"
    assert [r.url.path for r in seen] == ["/api/v1/auth/cli-login-requests/r1"] * 3


def test_wait_for_cli_login_stops_on_expiry(serve: Any) -> None:
    serve(lambda r: httpx.Response(200, json={"request_id": "r1", "status": "expired"}))

    with pytest.raises(CLIAuthenticationError, match="AAAA-BBBB is expired"):
        CLIClient.wait_for_cli_login(URL, {"request_id": "r1", "user_code": "AAAA-BBBB", "interval": 1})


def test_run_waits_with_wait_seconds_and_unwraps_the_output(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = iter([{"status": "running"}, {"status": "completed", "output": {"words": 3}}])

    def platform(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/executions"):
            return httpx.Response(202, json={"execution_id": "e1", "status": "pending"})
        return httpx.Response(200, json={"execution_id": "e1", **next(results)})

    seen = serve(platform)
    monkeypatch.setattr(cli_client_module.time, "sleep", lambda seconds: None)
    statuses: list[str] = []

    output = client(ring_id="ring1").code_blocks.run(
        "cb1", {"text": "a b c"}, result_mode="output", on_status=lambda e: statuses.append(e["status"])
    )

    assert output == {"words": 3}
    assert statuses == ["running", "completed"]
    submit = json.loads(seen[0].content)
    assert submit["component_type"] == "code_block" and submit["ring_id"] == "ring1"
    assert "Idempotency-Key" in seen[0].headers
    assert all(float(r.url.params["wait_seconds"]) > 0 for r in seen[1:])


def test_a_failed_run_raises_with_the_remote_message(serve: Any) -> None:
    def platform(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/executions"):
            return httpx.Response(202, json={"execution_id": "e1", "status": "pending"})
        return httpx.Response(
            200,
            json={
                "execution_id": "e1",
                "status": "failed",
                "error": {"message": "boom", "type": "ValueError"},
            },
        )

    serve(platform)
    with pytest.raises(PlatformExecutionError, match="ValueError: boom"):
        client(ring_id="ring1").workflows.run("wf1", {})


# ------------------------------------------------------------------------ FlowConfig
def test_config_save_is_atomic_private_and_profiles_are_separate(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "config.json"
    FlowConfig(URL, SECRET, "o1", "w1", api_key="fl_k", path=path).save()
    FlowConfig("http://other", "t2", "o2", "w2", profile="staging", path=path).save()

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]
    default = FlowConfig.load(path=path, environ={})
    staging = FlowConfig.load("staging", path=path, environ={})
    assert (default.org_id, default.api_key, staging.org_id) == ("o1", "fl_k", "o2")
    assert SECRET not in repr(default) and "fl_k" not in repr(default)


def test_environment_overrides_the_file_and_is_not_saved(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    FlowConfig(URL, SECRET, "o1", "w1", path=path).save()
    environ = {"WORKSPACE_ID": "w-env", "AUTH_TOKEN": "env-token", "FLOW_PROFILE": "default"}

    config = FlowConfig.load(path=path, environ=environ)
    assert (config.workspace_id, config.access_token, config.org_id) == ("w-env", "env-token", "o1")
    config.org_id = "o-new"
    config.save()

    stored = json.loads(path.read_text())["profiles"]["default"]
    assert stored["workspace_id"] == "w1" and stored["access_token"] == SECRET and stored["org_id"] == "o-new"


def test_config_dir_comes_from_flow_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOW_CONFIG_DIR", str(tmp_path))
    for name in (
        "PLATFORM_API_URL",
        "AUTH_TOKEN",
        "ORG_ID",
        "WORKSPACE_ID",
        "FLOW_API_KEY",
        "FLOW_PROFILE",
        "RING_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    FlowConfig(URL, SECRET, "o1", "w1").save()
    assert (tmp_path / "config.json").exists()
    assert FlowConfig.load().org_id == "o1"


def test_invalid_config_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{broken")
    with pytest.raises(ConfigurationError, match="is not valid JSON"):
        FlowConfig.load(path=path, environ={})


def test_require_names_what_is_missing() -> None:
    with pytest.raises(ConfigurationError, match="not logged in"):
        FlowConfig().require()
    with pytest.raises(ConfigurationError, match="flow workspaces use"):
        FlowConfig(URL, SECRET, "o1").require()
    FlowConfig(URL, SECRET, "o1").require(workspace=False)


def test_expired_token_is_refreshed_from_the_stored_api_key(serve: Any, tmp_path: Path) -> None:
    fresh = jwt_with_exp(time.time() + 3600)
    seen = serve(
        lambda r: httpx.Response(
            200, json={"access_token": fresh, "token_type": "bearer", "expires_in": 3600}
        )
    )
    path = tmp_path / "config.json"
    config = FlowConfig(URL, jwt_with_exp(time.time() - 10), "o1", "w1", api_key="fl_k", path=path)
    config.save()

    assert config.token_expired()
    config.ensure_fresh_token()

    assert config.access_token == fresh and not config.token_expired()
    assert seen[0].url.path == "/api/v1/auth/token"
    assert json.loads(path.read_text())["profiles"]["default"]["access_token"] == fresh


def test_a_401_refreshes_once_and_replays(serve: Any) -> None:
    fresh = jwt_with_exp(time.time() + 3600)

    def platform(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/token":
            return httpx.Response(
                200, json={"access_token": fresh, "token_type": "bearer", "expires_in": 3600}
            )
        if request.headers["Authorization"] == f"Bearer {fresh}":
            return httpx.Response(200, json=[{"id": "o1"}])
        return error(401, "expired", "unauthorized")

    serve(platform)
    assert client(api_key="fl_k").list_orgs() == [{"id": "o1"}]


def test_token_expiry_reads_exp_without_verifying() -> None:
    assert token_expiry(jwt_with_exp(1234)) == 1234.0
    assert token_expiry("not-a-jwt") is None
    assert token_expiry("a.!!!.c") is None
