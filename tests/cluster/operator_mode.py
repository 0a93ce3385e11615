"""The platform on NATS in operator mode, as processes: the servers, one API replica and one runner.

:class:`OperatorModeTopology` starts :class:`~flow_local.cluster.nats_operator.OperatorNatsCluster` (one
node or three), ``flow platform serve --nats URLS --nats-creds platform.creds --nats-signing-key FILE``
(SQLite and files in its data directory) and ``flow runner --nats URLS --creds runner.creds``, and
stops all of them. The checks below are shared by the default suite (one node, ``tests/nats``) and the
cluster session (three nodes): executions run end to end through the runner; the runner's credentials
are refused everything else; code in an execution gets credentials of its own, minted by the platform,
that reach its own subjects and nothing of another execution's.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import nats
from nats.errors import Error as NatsError

from flow_local.bootstrap import DEV_KEY_FILE
from flow_local.cluster.engines import Engine, EngineError
from flow_local.cluster.nats_operator import OperatorNatsCluster, OperatorTrust, write_private
from flow_local.cluster.topology import PlatformReplica, RemoteRunner, base_environment, flow_command
from flow_local.cluster.workspace import Workspace, default_workspace
from flow_local.runtime.engine import TOKEN_SLACK_SECONDS
from flow_local.runtime.nats_auth import decode_claims
from flow_local.runtime.nats_creds import JWT_BEGIN
from flow_sdk import CLIClient, FlowConfig
from flow_sdk.runtime_contract import (
    DISPATCH_STREAM,
    EVENTS_STREAM,
    OUTPUT_STREAM,
    STREAM_SUBJECTS,
    dispatch_subject,
    events_subject,
)

EXECUTION_TIMEOUT_SECONDS = 60

# Code in an execution: its environment, as far as a test may see it without leaking a secret.
ENV_PROBE = """import os

def main(n: int):
    return {"double": n * 2, "nats_url": os.environ.get("NATS_URL", ""), "names": sorted(os.environ),
            "credentials": os.environ.get("NATS_CREDENTIALS", "")}
"""

# Code in an execution attacking another one with its own NATS credentials.
ATTACK = """
import asyncio, json, os
import nats
from nats.aio.client import RawCredentials
from flow_sdk import PlatformClient

async def main(victim: str) -> dict:
    own = os.environ["EXECUTION_ID"]
    outcome = {}
    async with PlatformClient() as client:
        await client.push_execution_event(None, own, "message", {"text": "from inside"})
        outcome["own_event"] = "published"
        try:
            await client.push_execution_event(None, victim, "message", {"text": "forged"})
            outcome["foreign_event"] = "published"
        except Exception as exc:
            outcome["foreign_event"] = f"refused: {exc}"
    errors = []

    async def on_error(exc):
        errors.append(str(exc))

    servers = os.environ["NATS_URL"].split(",")
    credentials = RawCredentials(os.environ["NATS_CREDENTIALS"])
    nc = await nats.connect(servers, user_credentials=credentials, error_cb=on_error, max_reconnect_attempts=0)
    try:
        await nc.subscribe(f"exec.events.{victim}")
        await nc.subscribe("exec.>")
        await nc.publish(f"exec.output.{victim}", json.dumps({"execution_id": victim, "output": "forged"}).encode())
        await nc.flush(timeout=3)
        try:
            await nc.jetstream(timeout=2).get_last_msg("EXEC_EVENTS", f"exec.events.{victim}")
            outcome["stored_events"] = "read"
        except Exception as exc:
            outcome["stored_events"] = f"refused: {type(exc).__name__}"
        await asyncio.sleep(0.5)
    except Exception as exc:
        errors.append(str(exc))
    finally:
        await nc.close()
    outcome["violations"] = errors
    return outcome
"""


class CredsRunner(RemoteRunner):
    """``flow runner --nats URLS --creds FILE``, the credentials as options rather than variables."""

    def __init__(self, root: Path, nats_url: str, creds: Path, workers: int = 1) -> None:
        super().__init__(root, base_environment(), workers)
        self.nats_url = nats_url
        self.creds = creds

    def start(self) -> None:
        """Start the runner and wait until its workers are warm."""
        self.root.mkdir(parents=True, exist_ok=True)
        log_path = self.root / self.LOG
        command = [flow_command(), "runner", "--nats", self.nats_url, "--creds", str(self.creds)]
        self._spawn([*command, "--workers", str(self.workers)], self.LOG, env=self.env)
        self._wait("flow runner", lambda: self.READY in log_path.read_bytes(), self.LOG)


class OperatorModeTopology:
    """NATS in operator mode (``nodes`` nodes), one API replica and one runner, each with credentials files.

    Attributes:
        nats: The NATS servers and the credentials files.
        replica: The API replica (holding the platform's credentials and the account signing key).
        runner: The runner (holding only the runner's credentials).
    """

    def __init__(self, root: Path, nodes: int) -> None:
        self.nats = OperatorNatsCluster(root / "nats", size=nodes)
        self.replica = PlatformReplica(root / "replica", {})
        self.runner = CredsRunner(root / "runner", "", self.nats.runner_creds)

    def start(self) -> None:
        """Start the servers, then the replica, then the runner."""
        self.nats.start()
        self.replica.env = self.replica_environment(self.nats.signing_key)
        self.replica.start()
        self.runner.nats_url = self.nats.url
        self.runner.start()

    def replica_environment(self, signing_key: Path) -> dict[str, str]:
        """A replica's environment: the servers, the platform's credentials and an account signing key."""
        return {
            **base_environment(),
            "FLOW_NATS_URL": self.nats.url,
            "FLOW_NATS_CREDS": str(self.nats.platform_creds),
            "FLOW_NATS_SIGNING_KEY": str(signing_key),
        }

    def workspace(self) -> Workspace:
        """The replica's default workspace."""
        return default_workspace(self.replica.url, (self.replica.data_dir / DEV_KEY_FILE).read_text().strip())

    def close(self) -> None:
        """Stop the runner, the replica and the servers."""
        engines: list[Engine] = [self.runner, self.replica, self.nats]
        for engine in engines:
            engine.close()

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


async def runner_attempts(servers: list[str], creds: Path) -> dict[str, Any]:
    """What the runner's credentials may not do, tried: the server's errors and each attempt's outcome."""
    errors: list[str] = []

    async def collect(exc: Exception) -> None:
        errors.append(str(exc))

    client = await nats.connect(
        servers, user_credentials=str(creds), error_cb=collect, max_reconnect_attempts=0
    )
    outcome: dict[str, Any] = {}
    try:
        js = client.jetstream(timeout=1.0)
        for name, attempt in (
            ("forge_job", js.publish(dispatch_subject("forged"), b"{}")),
            ("delete_stream", js.delete_stream(OUTPUT_STREAM)),
            ("read_events", js.get_last_msg(EVENTS_STREAM, events_subject("anything"))),
        ):
            try:
                await attempt
                outcome[name] = "done"
            except (TimeoutError, NatsError) as exc:
                outcome[name] = f"refused: {type(exc).__name__}"
        await client.subscribe(STREAM_SUBJECTS[OUTPUT_STREAM])
        await client.flush()
        await asyncio.sleep(0.5)
        outcome["dispatch_stream"] = (await js.stream_info(DISPATCH_STREAM)).config.name
    finally:
        await client.close()
    outcome["violations"] = errors
    return outcome


def _cli(topology: OperatorModeTopology, workspace: Workspace) -> CLIClient:
    config = FlowConfig(
        platform_url=topology.replica.url,
        access_token=workspace.token,
        org_id=workspace.org_id,
        workspace_id=workspace.workspace_id,
    )
    return CLIClient(config)


async def _submit_and_await(workspace: Workspace, url: str, block: str, params: dict[str, Any]) -> Any:
    async with workspace.sdk(url) as flow:
        handle = await flow.code_blocks.submit(block, params)
        return await flow.code_blocks.await_result(
            handle["execution_id"], timeout_seconds=EXECUTION_TIMEOUT_SECONDS
        )


def _run(topology: OperatorModeTopology, workspace: Workspace, block: str, params: dict[str, Any]) -> Any:
    return asyncio.run(_submit_and_await(workspace, topology.replica.url, block, params))


def _jwt_claims(creds: str) -> dict[str, Any]:
    lines = creds.splitlines()
    return decode_claims(lines[lines.index(JWT_BEGIN) + 1])


def check_executions_run_through_the_runner(topology: OperatorModeTopology, workspace: Workspace) -> None:
    """Three executions complete; the code sees the bare URLs and its own credentials, no other secret."""
    workspace.create_code_block(topology.replica.url, "cb-op-env", ENV_PROBE)
    started = time.time()
    results = [_run(topology, workspace, "cb-op-env", {"n": n}) for n in range(3)]
    assert [result["status"] for result in results] == ["completed"] * 3, results
    assert [result["output"]["double"] for result in results] == [0, 2, 4]
    output = results[0]["output"]
    assert output["nats_url"] == topology.nats.url
    assert "FLOW_NATS_CREDS" not in output["names"] and "FLOW_NATS_SIGNING_KEY" not in output["names"]
    claims = _jwt_claims(output["credentials"])
    execution_id = results[0]["execution_id"]
    assert claims["nats"]["pub"] == {"allow": [events_subject(execution_id)]}
    assert claims["nats"]["issuer_account"] == topology.nats.trust.account
    timeout = _cli(topology, workspace).get_execution(execution_id)["timeout_seconds"]
    assert started + timeout < claims["exp"] <= time.time() + timeout + TOKEN_SLACK_SECONDS
    secrets = (topology.nats.signing_key.read_text().strip(), topology.nats.runner_creds.read_text())
    assert all(secret not in output["credentials"] for secret in secrets)
    check_signing_key_kept_out_of_logs_and_database(topology)


def check_signing_key_kept_out_of_logs_and_database(topology: OperatorModeTopology) -> None:
    """The account signing key appears in no log and no database file of the replica or the runner."""
    seed = topology.nats.signing_key.read_text().strip().encode()
    written = [topology.replica.root / PlatformReplica.LOG, topology.runner.root / RemoteRunner.LOG]
    written += list(topology.replica.data_dir.glob("platform.db*"))
    assert written[2:], "the replica's SQLite database was not found"
    for path in written:
        assert seed not in path.read_bytes(), path


def check_runner_credentials_are_refused_everything_else(topology: OperatorModeTopology) -> None:
    """Forging a job, deleting a stream, reading stored events and listening to outputs are refused."""
    outcome = asyncio.run(runner_attempts(topology.nats.urls, topology.nats.runner_creds))
    assert outcome["forge_job"].startswith("refused"), outcome
    assert outcome["delete_stream"].startswith("refused"), outcome
    assert outcome["read_events"].startswith("refused"), outcome
    violations = [
        error.lower() for error in outcome["violations"] if "permissions violation" in error.lower()
    ]
    assert any("publish" in v and "exec.dispatch.forged" in v for v in violations), outcome
    assert any("publish" in v and "$js.api.stream.delete" in v for v in violations), outcome
    assert any("publish" in v and "$js.api.stream.msg.get.exec_events" in v for v in violations), outcome
    assert any("subscription" in v and "exec.output" in v for v in violations), outcome
    assert outcome["dispatch_stream"] == DISPATCH_STREAM


def check_execution_credentials_reach_only_their_execution(
    topology: OperatorModeTopology, workspace: Workspace
) -> None:
    """An execution pushes its own event; another execution's subjects and stored events stay closed."""
    url = topology.replica.url
    workspace.create_code_block(url, "cb-op-victim", "def main() -> str:\n    return 'genuine'\n")
    workspace.create_code_block(url, "cb-op-attack", ATTACK)
    victim = _run(topology, workspace, "cb-op-victim", {})
    cli = _cli(topology, workspace)
    before = cli.list_execution_events(victim["execution_id"])
    result = _run(topology, workspace, "cb-op-attack", {"victim": victim["execution_id"]})
    assert result["status"] == "completed", result
    output = result["output"]
    assert output["own_event"] == "published"
    events = cli.list_execution_events(result["execution_id"])
    assert {"text": "from inside"} in [event["data"] for event in events]
    assert output["foreign_event"].startswith("refused"), output
    assert output["stored_events"].startswith("refused"), output
    violations = [error.lower() for error in output["violations"]]
    assert any(f'subscription to "exec.events.{victim["execution_id"]}"' in v for v in violations), violations
    assert any('subscription to "exec.>"' in v for v in violations), violations
    assert any("permissions violation for publish" in v and "exec.output" in v for v in violations), (
        violations
    )
    assert cli.list_execution_events(victim["execution_id"]) == before
    assert cli.get_execution_result(victim["execution_id"])["output"] == "genuine"


def check_flow_runner_refuses_missing_credentials(topology: OperatorModeTopology, missing: Path) -> None:
    """``flow runner --creds`` naming no file exits with a usage error that names the file."""
    done = subprocess.run(
        [flow_command(), "runner", "--nats", topology.nats.url, "--creds", str(missing)],
        capture_output=True,
        text=True,
        env=base_environment(),
        timeout=60,
    )
    assert done.returncode == 2
    assert missing.name in done.stderr and "does not exist" in done.stderr


def check_a_foreign_signing_key_stops_the_replica(topology: OperatorModeTopology, root: Path) -> None:
    """A replica given a signing key the account does not list exits at start, naming the option."""
    foreign = root / "foreign.nk"
    write_private(foreign, OperatorTrust.create().signing_seed + "\n")
    replica = PlatformReplica(root / "replica", topology.replica_environment(foreign))
    try:
        replica.start()
    except EngineError:
        pass
    finally:
        replica.close()
    log = (replica.root / PlatformReplica.LOG).read_text()
    assert "refuse users signed with the --nats-signing-key key" in log, log[-2000:]
    assert foreign.read_text().strip() not in log
