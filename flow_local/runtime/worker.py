"""A warm worker process: runs one execution at a time for its runner, in a fresh per-execution environment.

Protocol with the runner (one JSON object per line): jobs arrive on stdin; for each the worker answers
``{"execution_id", "status", "recycle"}`` on the protocol stream (the original stdout; fd 1 is pointed at
stderr so stray prints cannot corrupt it). The worker exits when stdin closes (its runner is gone).

For each job the worker sets the runtime variables (ORG_ID, AUTH_TOKEN, EXECUTION_ID, ...), publishes the
``running`` status while it reads the input from ``exec.input.{execution_id}`` (a direct stream read, see
:mod:`flow_local.runtime.inputs`; the SDK's consumer-based fetch is the fallback), runs the code block or
agent with stdout/stderr captured and an address-space limit, and pushes events and the output back over
NATS with the SDK's own PlatformClient transport methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import resource
import sys
import threading
from typing import IO, Any

import nats
from nats.aio.client import Client as NatsClient
from nats.js.client import JetStreamContext

from flow_local.runtime.code_block import CodeBlockError, run_code_block
from flow_local.runtime.inputs import StoredInput, read_input, remove_input
from flow_sdk.platform_client import PlatformClient

RUNTIME_VARIABLES = (
    "ORG_ID",
    "WORKSPACE_ID",
    "AUTH_TOKEN",
    "PLATFORM_API_URL",
    "GATEWAY_URL",
    "SERVICE_ID",
    "EXECUTION_ID",
    "JOB_ID",
    "REQUEST_ID",
    "RING_ID",
    "PARENT_BILLING_TXN_ID",
    "LIFECYCLE_EVENT",
    "NATS_URL",
)
MAX_CAPTURE_CHARS = 1_000_000
MEGABYTE = 1024 * 1024


def apply_environment(env: dict[str, str]) -> None:
    """Replace the runtime variables of this process with those of one execution."""
    for name in RUNTIME_VARIABLES:
        value = env.get(name)
        if value:
            os.environ[name] = str(value)
        elif name != "NATS_URL":
            os.environ.pop(name, None)


def _address_space_bytes() -> int:
    """The current virtual size of this process."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def memory_limit(memory_mb: int | None) -> Any:
    """Limit the address space to the current size plus ``memory_mb`` while the block runs (RLIMIT_AS)."""
    if not memory_mb:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space_bytes() + int(memory_mb) * MEGABYTE
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class _Capture(io.StringIO):
    """A bounded text buffer standing in for stdout or stderr."""

    def write(self, text: str) -> int:
        if self.tell() < MAX_CAPTURE_CHARS:
            super().write(text[: MAX_CAPTURE_CHARS - self.tell()])
        return len(text)


class Worker:
    """Runs jobs handed over by a runner, keeping its NATS connection warm between them.

    Attributes:
        nats_url: The NATS server of this worker's runner (``NATS_URL`` at start). It replaces the one in
            a job's variables: a job queued before a platform restart may name a server that is gone.
    """

    def __init__(self, nats_url: str | None = None) -> None:
        self.nats_url = nats_url or os.environ["NATS_URL"]
        self._client: PlatformClient | None = None
        self._nc: NatsClient | None = None

    async def jetstream(self) -> JetStreamContext:
        """This worker's own warm JetStream connection (for reading inputs)."""
        if self._nc is None or self._nc.is_closed:
            self._nc = await nats.connect(self.nats_url, max_reconnect_attempts=-1)
        return self._nc.jetstream()

    def client(self, env: dict[str, str]) -> PlatformClient:
        """The PlatformClient whose NATS methods carry input, events, status and output."""
        if self._client is None:
            self._client = PlatformClient(
                base_url=env.get("PLATFORM_API_URL") or "http://127.0.0.1",
                auth_token=env.get("AUTH_TOKEN") or "-",
            )
        elif env.get("AUTH_TOKEN"):
            self._client.auth_token = env["AUTH_TOKEN"]
        return self._client

    async def run(self, job: dict[str, Any]) -> dict[str, Any]:
        """Run one job end to end and return the reply for the runner."""
        execution_id = str(job["execution_id"])
        deployment_id = job.get("deployment_id")
        env = {k: str(v) for k, v in (job.get("env") or {}).items() if v is not None}
        env["NATS_URL"] = self.nats_url
        apply_environment(env)
        client = self.client(env)
        js = await self.jetstream()
        _, stored = await asyncio.gather(
            client.publish_execution_status(execution_id, "running"),
            read_input(js, execution_id, deployment_id),
        )
        message = await self._take_input(client, js, stored, deployment_id, execution_id)
        stdout, stderr = _Capture(), _Capture()
        recycle = False
        result: dict[str, Any] = {}
        error: dict[str, Any] | None = None
        try:
            with (
                contextlib.redirect_stdout(stdout),
                contextlib.redirect_stderr(stderr),
                memory_limit(job.get("memory_mb")),
            ):
                result = await self._execute(job, message)
        except CodeBlockError as exc:
            error = exc.as_dict()
            recycle = exc.error_type == "MemoryError"
        except MemoryError:
            error, recycle = {"message": "the execution ran out of memory", "type": "MemoryError"}, True
        except Exception as exc:
            error = CodeBlockError(type(exc).__name__, str(exc)).as_dict()
        await self._report(
            client, deployment_id, execution_id, stdout.getvalue(), stderr.getvalue(), result, error
        )
        return {
            "execution_id": execution_id,
            "status": "failed" if error else "completed",
            "recycle": recycle,
        }

    @staticmethod
    async def _take_input(
        client: PlatformClient,
        js: JetStreamContext,
        stored: StoredInput | None,
        deployment_id: str | None,
        execution_id: str,
    ) -> dict[str, Any]:
        """Remove the stored input from the work queue, or wait for it with the SDK's fetch when absent."""
        if stored is None:
            return await client.fetch_execution_input(deployment_id, execution_id)
        await remove_input(js, execution_id, stored.seq)
        return stored.message

    async def _execute(self, job: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        spec = job.get("spec") or {}
        inputs = message.get("input_data") or {}
        if job.get("component_type") == "agent":
            from flow_local.runtime.agent import run_isolated_agent

            return await run_isolated_agent(self.client({}), job, spec, inputs, message)
        output = await run_code_block(
            str(spec.get("source", "")),
            inputs,
            lambda: _bound_flow(job),
            str(spec.get("entrypoint") or "main"),
        )
        return {"output": output}

    @staticmethod
    async def _report(
        client: PlatformClient,
        deployment_id: str | None,
        execution_id: str,
        stdout: str,
        stderr: str,
        result: dict[str, Any],
        error: dict[str, Any] | None,
    ) -> None:
        for stream, text in (("stdout", stdout), ("stderr", stderr)):
            if text:
                await client.push_execution_event(
                    deployment_id, execution_id, "message", {"stream": stream, "text": text}
                )
        if error is not None:
            await client.push_execution_event(deployment_id, execution_id, "error", error)
            await client.push_execution_output(deployment_id, execution_id, None, error=error["message"])
            return
        await client.push_execution_output(
            deployment_id,
            execution_id,
            result.get("output"),
            usage=result.get("usage"),
            messages=result.get("messages"),
        )


def _bound_flow(job: dict[str, Any]) -> Any:
    """A ``FlowSDK()`` from the runtime variables, bound to the code block's request context."""
    from flow_sdk import FlowSDK

    flow = FlowSDK()
    flow.bind_request_context(
        auth={
            "subject_id": f"execution:{job['execution_id']}",
            "scopes": ["read", "write"],
            "token_type": "execution",
            "custom_claims": {},
            "token": os.environ.get("AUTH_TOKEN", ""),
        },
        execution={"execution_id": job["execution_id"], "request_id": None, "job_id": None},
        service={"service_id": None, "component_id": job.get("component_id"), "version": None},
    )
    return flow


def _protocol_stream() -> IO[str]:
    """Keep the real stdout for the protocol and send fd 1 to stderr."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return protocol


def _read_jobs(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[dict[str, Any]]) -> None:
    """Thread: read job lines from stdin; exit the process when the runner closes it."""
    for line in sys.stdin:
        if line.strip():
            loop.call_soon_threadsafe(queue.put_nowait, json.loads(line))
    os._exit(0)


async def serve() -> None:
    """Announce readiness, then run jobs one at a time until stdin closes."""
    protocol = _protocol_stream()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    threading.Thread(target=_read_jobs, args=(asyncio.get_running_loop(), queue), daemon=True).start()
    worker = Worker()
    protocol.write(json.dumps({"ready": os.getpid()}) + "\n")
    while True:
        job = await queue.get()
        try:
            reply = await worker.run(job)
        except Exception as exc:
            reply = {
                "execution_id": job.get("execution_id"),
                "status": "failed",
                "recycle": True,
                "error": str(exc),
            }
        protocol.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    asyncio.run(serve())
