"""The ``flow`` command, run as a subprocess against a real local platform (nothing mocked)."""

from __future__ import annotations

import json
import os
import stat
import time
import uuid

import httpx
import pytest

from flow_local.harness import LocalPlatform
from flow_local.ports import free_port

from .conftest import FlowRunner, route_exists, workspace_api

WORD_COUNT = "def main(text: str) -> dict:\n    return {'words': len(text.split())}\n"


def _json(result: object) -> object:
    return json.loads(result.stdout)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- login
def test_login_with_api_key_writes_private_config_and_never_prints_it(
    flow: FlowRunner, platform: LocalPlatform
) -> None:
    result = flow("login", "--url", platform.url, "--api-key", platform.api_key)

    assert result.returncode == 0, result.stderr
    assert platform.org_id in result.stdout and platform.workspace_id in result.stdout
    mode = stat.S_IMODE(os.stat(flow.config_file).st_mode)
    assert mode == 0o600
    saved = json.loads(flow.config_file.read_text())
    profile = saved["profiles"][saved["current_profile"]]
    assert profile["workspace_id"] == platform.workspace_id
    assert profile["api_key"] == platform.api_key
    for secret in (profile["access_token"], platform.api_key):
        assert secret not in result.stdout + result.stderr

    whoami = flow("whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert platform.org_id in whoami.stdout
    assert profile["access_token"] not in whoami.stdout + whoami.stderr
    assert platform.api_key not in whoami.stdout + whoami.stderr


def test_login_with_api_key_from_stdin(flow: FlowRunner, platform: LocalPlatform) -> None:
    result = flow("login", "--url", platform.url, "--api-key", "-", input=platform.api_key + "\n")

    assert result.returncode == 0, result.stderr
    assert flow("orgs", "list", "--json").returncode == 0


def _pending_code(platform: LocalPlatform, process_stderr_path: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with open(process_stderr_path) as handle:
            for line in handle:
                if "approve code" in line:
                    return line.split("approve code", 1)[1].split()[0]
        time.sleep(0.1)
    raise AssertionError("the login code was never shown")


def _login_by_code(
    flow: FlowRunner, platform: LocalPlatform, tmp_path: object, approve: object
) -> tuple[int, str, str]:
    """Run `flow login` (no key) in the background, approve the code it shows with ``approve(code)``."""
    import subprocess
    import sys
    from pathlib import Path

    err_path = Path(str(tmp_path)) / "login.err"
    out_path = Path(str(tmp_path)) / "login.out"
    with open(err_path, "w") as err, open(out_path, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flow_sdk.cli", "login", "--url", platform.url, "--timeout", "30"],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=flow.env,
        )
        try:
            code = _pending_code(platform, str(err_path))
            approve(code)  # type: ignore[operator]
            returncode = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    return returncode, out_path.read_text(), err_path.read_text()


@pytest.mark.slow
def test_login_by_code_approved_through_the_api(
    flow: FlowRunner, platform: LocalPlatform, tmp_path: object
) -> None:
    def approve(code: str) -> None:
        response = httpx.post(
            f"{platform.url}/api/v1/auth/cli-login-requests/approve",
            json={"user_code": code},
            headers={"Authorization": f"Bearer {platform.admin_token}"},
        )
        assert response.status_code == 200, response.text

    returncode, out, err = _login_by_code(flow, platform, tmp_path, approve)

    assert returncode == 0, err
    assert "Logged in" in out
    assert flow("workspaces", "list").returncode == 0


@pytest.mark.slow
def test_login_by_code_approved_with_flow_local_approve(
    flow: FlowRunner, platform: LocalPlatform, tmp_path: object
) -> None:
    def approve(code: str) -> None:
        result = flow("local", "approve", code, "--data-dir", str(platform.data_dir))
        assert result.returncode == 0, result.stderr

    returncode, _out, err = _login_by_code(flow, platform, tmp_path, approve)

    assert returncode == 0, err
    me = flow("whoami", "--json")
    assert me.returncode == 0, me.stderr
    assert _json(me)["org_id"] == platform.org_id  # type: ignore[index]


def test_logout_removes_the_profile(logged_in: FlowRunner) -> None:
    assert logged_in("logout").returncode == 0
    result = logged_in("orgs", "list")
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "error: not logged in: run `flow login` or export AUTH_TOKEN"
    ]


# ---------------------------------------------------------------------------- one clear line per failure
def test_bad_api_key_is_one_line_and_exit_3(flow: FlowRunner, platform: LocalPlatform) -> None:
    result = flow("login", "--url", platform.url, "--api-key", "fl_not_a_real_key")

    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: authentication failed:")
    assert "Traceback" not in result.stderr
    assert not flow.config_file.exists()


def test_bad_token_in_environment_is_exit_3(logged_in: FlowRunner) -> None:
    logged_in.env["AUTH_TOKEN"] = "not-a-jwt"
    logged_in.env["FLOW_API_KEY"] = ""
    saved = json.loads(logged_in.config_file.read_text())
    saved["profiles"]["default"].pop("api_key")
    logged_in.config_file.write_text(json.dumps(saved))

    result = logged_in("components", "list", "code_block")

    assert result.returncode == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not-a-jwt" not in result.stderr


def test_unreachable_url_is_one_line_and_exit_5(flow: FlowRunner) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = flow("login", "--url", url, "--api-key", "fl_whatever")

    assert result.returncode == 5
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot reach {url}")


def test_unknown_id_is_one_line_and_exit_4(logged_in: FlowRunner) -> None:
    result = logged_in("components", "get", "code_block", "no-such-block")

    assert result.returncode == 4
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not found" in lines[0] and "no-such-block" in lines[0]


def test_bad_input_is_a_usage_error(logged_in: FlowRunner) -> None:
    assert logged_in("components", "list", "spaceship").returncode == 2
    assert (
        logged_in("components", "create", "code_block", "--name", "x", "--spec", "{not json").returncode == 2
    )


# ---------------------------------------------------------------------------- listing and creating
def test_orgs_and_workspaces_tables_and_json(logged_in: FlowRunner, platform: LocalPlatform) -> None:
    table = logged_in("orgs", "list")
    assert table.returncode == 0 and platform.org_id in table.stdout
    workspaces = logged_in("workspaces", "list", "--json")
    assert [ws["id"] for ws in _json(workspaces)] == [platform.workspace_id]  # type: ignore[union-attr]
    use = logged_in("workspaces", "use", "default")
    assert use.returncode == 0 and platform.workspace_id in use.stdout
    assert logged_in("workspaces", "use", "nope").returncode == 4


def test_create_list_get_delete_a_code_block(logged_in: FlowRunner, tmp_path: object) -> None:
    from pathlib import Path

    source = Path(str(tmp_path)) / "count.py"
    source.write_text(WORD_COUNT)
    block_id = f"cli-{uuid.uuid4().hex[:8]}"

    created = logged_in(
        "components",
        "create",
        "code-block",
        "--name",
        "word-count",
        "--id",
        block_id,
        "--source-file",
        str(source),
        "--json",
    )
    assert created.returncode == 0, created.stderr
    assert _json(created)["spec"]["source"] == WORD_COUNT  # type: ignore[index]

    listed = logged_in("components", "list", "code_block")
    assert block_id in listed.stdout and "word-count" in listed.stdout
    got = logged_in("components", "get", "code_block", block_id, "--json")
    assert _json(got)["version"] == 1  # type: ignore[index]

    assert logged_in("components", "delete", "code_block", block_id, "--yes").returncode == 0
    assert logged_in("components", "get", "code_block", block_id).returncode == 4


# ---------------------------------------------------------------------------- running
def test_run_a_code_block(logged_in: FlowRunner, platform: LocalPlatform) -> None:
    executions_path = f"/api/v1/orgs/{platform.org_id}/workspaces/{platform.workspace_id}/executions"
    if not route_exists(platform, "GET", executions_path):
        pytest.skip("the local platform has no executions area yet (GET .../executions is not routed)")
    block_id = f"run-{uuid.uuid4().hex[:8]}"
    with workspace_api(platform) as api:
        assert (
            api.post(
                "/components/code_block", json={"id": block_id, "name": "wc", "spec": {"source": WORD_COUNT}}
            ).status_code
            == 201
        )

    result = logged_in("run", "code-block", block_id, "--input", '{"text": "one two three"}', timeout=120)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"words": 3}

    envelope = logged_in("run", "code-block", block_id, "--input", '{"text": "a b"}', "--json", timeout=120)
    execution_id = _json(envelope)["execution_id"]  # type: ignore[index]
    status = logged_in("executions", "status", execution_id, "--json")
    assert _json(status)["status"] == "completed"  # type: ignore[index]
    assert logged_in("executions", "logs", execution_id).returncode == 0


# ---------------------------------------------------------------------------- DDL
def test_ddl_shows_the_preview_then_executes_after_confirmation(
    logged_in: FlowRunner, platform: LocalPlatform
) -> None:
    if not route_exists(platform, "POST", "/api/v1/connectors/instances/probe/execute-ddl"):
        pytest.skip("the local platform has no connectors area yet (execute-ddl is not routed)")
    instance_id = f"db-{uuid.uuid4().hex[:8]}"
    with workspace_api(platform) as api:
        body = {
            "id": instance_id,
            "name": "notes db",
            "spec": {"connector_type": "sqlite", "config": {"database": f"{instance_id}.db"}},
        }
        assert api.post("/resources/connector_instance", json=body).status_code == 201
    sql = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"

    declined = logged_in("ddl", instance_id, sql, input="n\n")
    assert declined.returncode == 0, declined.stderr
    assert "CREATE TABLE notes" in declined.stdout and "Not executed." in declined.stderr

    confirmed = logged_in("ddl", instance_id, sql, input="y\n")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "Executed" in confirmed.stdout

    again = logged_in("ddl", instance_id, "CREATE TABLE notes (id INTEGER)", "--yes")
    assert again.returncode != 0  # the table exists now: the platform refuses to create it twice


# ---------------------------------------------------------------------------- hosted services
SERVICE_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.post("/echo")
async def echo(body: dict) -> dict:
    return {"echo": body}
"""


def test_services_invoke(logged_in: FlowRunner, platform: LocalPlatform) -> None:
    service_id = f"svc-{uuid.uuid4().hex[:8]}"
    versions_path = f"/api/v1/orgs/{platform.org_id}/workspaces/{platform.workspace_id}/hosted-services/{service_id}/versions"
    if not route_exists(platform, "GET", versions_path):
        pytest.skip(
            "the local platform has no hosted services yet (.../hosted-services/{id}/versions is not routed)"
        )
    with workspace_api(platform) as api:
        deployed = api.post(
            f"/hosted-services/{service_id}/versions",
            json={"app": "main:app", "files": {"main.py": SERVICE_APP}},
            timeout=60,
        )
        assert deployed.status_code == 201, deployed.text

    result = logged_in("services", "invoke", service_id, "POST", "/echo", "--body", '{"x": 1}', timeout=60)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"echo": {"x": 1}}

    with workspace_api(platform) as api:
        second = api.post(
            f"/hosted-services/{service_id}/versions",
            json={"app": "main:app", "files": {"main.py": SERVICE_APP}},
            timeout=60,
        )
        assert second.status_code == 201, second.text
    listed = json.loads(logged_in("-o", "json", "services", "list").stdout)
    row = next(item for item in listed if item["id"] == service_id)
    assert row["running_version"] == 2 and row["latest_version"] == 2
    assert logged_in("services", "invoke", "no-such-service", "GET", "/x").returncode == 4


# ---------------------------------------------------------------------------- output formats, executions, api
PRINTER = "import time\n\ndef main(text: str) -> dict:\n    print('got', text)\n    time.sleep(0.5)\n    return {'n': len(text)}\n"


def _create_block(platform: LocalPlatform, source: str) -> str:
    block_id = f"blk-{uuid.uuid4().hex[:8]}"
    with workspace_api(platform) as api:
        created = api.post(
            "/components/code_block", json={"id": block_id, "name": "b", "spec": {"source": source}}
        )
        assert created.status_code == 201, created.text
    return block_id


def test_run_shows_what_the_block_printed_on_stderr_and_the_output_on_stdout(
    logged_in: FlowRunner, platform: LocalPlatform
) -> None:
    block_id = _create_block(platform, PRINTER)

    result = logged_in("run", "code-block", block_id, "--input", '{"text": "hey"}', timeout=120)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"n": 3}
    assert "got hey" in result.stderr


def test_a_no_wait_run_is_listed_and_its_result_fetched_later(
    logged_in: FlowRunner, platform: LocalPlatform
) -> None:
    block_id = _create_block(platform, PRINTER)
    submitted = logged_in("run", "code-block", block_id, "--input", '{"text": "later"}', "--no-wait")
    assert submitted.returncode == 0, submitted.stderr
    execution_id = submitted.stdout.strip()
    assert f"flow executions result {execution_id}" in submitted.stderr

    result = logged_in("executions", "result", execution_id, "--wait", "20", timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"n": 5}
    assert "got later" in result.stderr

    listed = logged_in("-o", "json", "executions", "list", "--status", "completed", "--limit", "200")
    assert execution_id in [item["execution_id"] for item in json.loads(listed.stdout)]
    tsv = logged_in("-o", "tsv", "executions", "list").stdout.splitlines()
    assert tsv[0].split("\t") == ["execution_id", "component_type", "component_id", "status", "created_at"]
    assert any(line.startswith(execution_id + "\t") for line in tsv[1:])


def test_output_yaml_and_plain_tables_when_piped(logged_in: FlowRunner, platform: LocalPlatform) -> None:
    yaml_text = logged_in("-o", "yaml", "orgs", "list").stdout
    assert f"id: {platform.org_id}" in yaml_text

    table = logged_in("orgs", "list").stdout
    assert platform.org_id in table
    assert not set(table) & set("┏┃━│─┡╇└┘")


def test_flow_api_sends_a_raw_request(logged_in: FlowRunner, platform: LocalPlatform) -> None:
    me = logged_in("api", "GET", "/api/v1/auth/me")
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["org_id"] == platform.org_id

    listed = logged_in(
        "api", "GET", "/api/v1/orgs/{org_id}/workspaces/{workspace_id}/executions", "-q", "limit=1"
    )
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)

    missing = logged_in("api", "GET", "/api/v1/orgs/{org_id}/workspaces/{workspace_id}/executions/nope")
    assert missing.returncode == 4 and missing.stderr.startswith("error: not found")
    assert logged_in("api", "FETCH", "/x").returncode == 2


def test_login_selects_a_workspace_by_name(flow: FlowRunner, platform: LocalPlatform) -> None:
    result = flow("login", "--url", platform.url, "--api-key", platform.api_key, "-w", "default")
    assert result.returncode == 0, result.stderr
    saved = json.loads(flow.config_file.read_text())
    assert saved["profiles"][saved["current_profile"]]["workspace_id"] == platform.workspace_id

    unknown = flow("login", "--url", platform.url, "--api-key", platform.api_key, "-w", "staging")
    assert unknown.returncode == 4
    assert unknown.stderr.strip().splitlines() == [
        f"error: not found: no workspace 'staging' in org {platform.org_id} (workspaces: default)"
    ]


def test_version_and_local_help(flow: FlowRunner) -> None:
    version = flow("--version")
    assert version.returncode == 0 and version.stdout.startswith("flow ")
    local_help = flow("local", "--help").stdout
    for command in ("serve", "env", "approve", "reset", "runner", "services"):
        assert f"  {command} " in local_help
