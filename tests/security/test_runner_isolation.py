"""Code blocks attack the platform from inside: its files, its processes, its NATS server.

Each attack is what a tenant's code would try with the knowledge an attacker may have (the data
directory's path, the platform's pid); each must fail.
"""

from __future__ import annotations

import os

from flow_local.harness import LocalPlatform
from flow_local.runtime.sandbox import landlock_abi

from .conftest import run_code, workspace_api

READ_PLATFORM_FILES = """
import glob, os

def main(data_dir: str, platform_pid: int) -> dict:
    targets = {
        "signing_key": f"{data_dir}/signing.key",
        "database": f"{data_dir}/platform.db",
        "nats_credentials": f"{data_dir}/nats/credentials.json",
        "platform_cmdline": f"/proc/{platform_pid}/cmdline",
        "platform_environ": f"/proc/{platform_pid}/environ",
    }
    found = {}
    for name, path in targets.items():
        try:
            with open(path, "rb") as handle:
                found[name] = handle.read(64).hex()
        except OSError as exc:
            found[name] = type(exc).__name__
    readable = []
    for path in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(path, "rb") as handle:
                handle.read(1)
            readable.append(int(path.split("/")[2]))
        except OSError:
            pass
    try:
        os.listdir(data_dir)
        found["list_data_dir"] = "listed"
    except OSError as exc:
        found["list_data_dir"] = type(exc).__name__
    try:
        os.kill(platform_pid, 0)
        found["signal_platform"] = "sent"
    except OSError as exc:
        found["signal_platform"] = type(exc).__name__
    return {"files": found, "cmdlines": readable, "pid": os.getpid(), "environment": dict(os.environ), "cwd": os.getcwd()}
"""

NATS_ATTACK = """
import asyncio, json, os
import nats

async def main(victim: str) -> dict:
    outcome = {}
    address = "nats://" + os.environ["NATS_URL"].rsplit("@", 1)[1]
    attempts = {
        "anonymous": {},
        "execution_token": {"token": os.environ["AUTH_TOKEN"]},
        "guessed_runner": {"user": "runner", "password": "runner"},
    }
    for name, options in attempts.items():
        try:
            client = await nats.connect(
                address, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3, **options
            )
        except Exception as exc:
            outcome[name] = f"refused: {exc}"
            continue
        try:
            js = client.jetstream()
            await js.publish(f"exec.output.{victim}", json.dumps({"execution_id": victim, "output": "forged"}).encode())
            outcome[name] = "published a forged output"
        except Exception as exc:
            outcome[name] = f"connected, publish refused: {exc}"
        finally:
            await client.close()
    return outcome
"""


def test_the_sandbox_mechanism_is_landlock_here() -> None:
    """The machine the suite runs on has Landlock; the attacks below prove it is applied."""
    assert landlock_abi() >= 1


def test_a_code_block_cannot_read_the_platform_files_processes_or_signal_it(lp: LocalPlatform) -> None:
    assert lp.platform is not None
    data_dir = str(lp.platform.settings.data_dir)
    result = run_code(
        lp, READ_PLATFORM_FILES, {"data_dir": data_dir, "platform_pid": os.getpid()}, "cb-snoop"
    )
    assert result["status"] == "completed", result
    output = result["output"]
    files = output["files"]
    assert files["signing_key"] == "PermissionError"
    assert files["database"] == "PermissionError"
    assert files["nats_credentials"] == "PermissionError"
    assert files["platform_cmdline"] == "PermissionError"
    assert files["platform_environ"] == "PermissionError"
    assert files["list_data_dir"] == "PermissionError"
    assert files["signal_platform"] == "PermissionError"
    assert set(output["cmdlines"]) <= {output["pid"]}
    environment = output["environment"]
    assert not any(data_dir in value for value in environment.values())
    assert environment["NATS_URL"].startswith(f"nats://execution:{environment['AUTH_TOKEN']}@")
    assert not any(name.startswith("FLOW_LOCAL") for name in environment)
    assert output["cwd"] == environment["HOME"] == environment["TMPDIR"]


def test_the_runner_itself_is_not_told_where_the_data_directory_is(lp: LocalPlatform) -> None:
    """Its command line and environment (readable on a machine without Landlock) name no platform file."""
    from flow_local.runtime.engine import ExecutionEngine

    assert lp.platform is not None
    engine = lp.platform.component(ExecutionEngine)
    assert engine is not None and engine.runner_pid is not None
    data_dir = str(lp.platform.settings.data_dir).encode()
    proc = f"/proc/{engine.runner_pid}"
    with open(f"{proc}/cmdline", "rb") as cmdline, open(f"{proc}/environ", "rb") as environ:
        seen = cmdline.read() + environ.read()
    assert data_dir not in seen and b"FLOW_LOCAL_DATA_DIR" not in seen


def test_without_the_key_a_forged_token_is_refused(lp: LocalPlatform) -> None:
    """What a code block could do without the key: sign with a guess. The platform refuses it."""
    import jwt

    forged = jwt.encode(
        {"sub": "attacker", "org_id": lp.org_id, "scopes": ["admin"], "token_type": "user"},
        "a-guessed-key-of-thirty-two-bytes!",
        "HS256",
    )
    with workspace_api(lp, forged) as client:
        assert client.get("/executions").status_code == 401


def test_a_code_block_cannot_use_nats_to_read_or_forge_another_execution(lp: LocalPlatform) -> None:
    victim = run_code(lp, "def main() -> str:\n    return 'genuine'\n", {}, "cb-victim")
    assert victim["output"] == "genuine"
    attack = run_code(lp, NATS_ATTACK, {"victim": victim["execution_id"]}, "cb-nats")
    assert attack["status"] == "completed", attack
    for name, outcome in attack["output"].items():
        assert outcome.startswith("refused") and "Authorization Violation" in outcome, (name, outcome)
    with workspace_api(lp) as client:
        again = client.get(f"/executions/{victim['execution_id']}/result").json()
    assert again["output"] == "genuine"
