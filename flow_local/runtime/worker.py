"""A warm worker: a pre-loaded process that forks one confined child per execution.

The worker itself never runs user code and holds no credentials. It imports everything a code block
or an agent needs once, then for each job (one JSON line on stdin from its runner) forks a child that:

1. gets its own scratch directory as working directory, ``HOME`` and ``TMPDIR``;
2. gets a scrubbed environment: the execution's runtime variables and little else (no NATS password,
   nothing naming the platform's data directory);
3. is confined (:mod:`flow_local.runtime.sandbox`: Landlock, no capabilities, no new privileges) and
   gets the job's address-space limit;
4. runs the code block or agent, writing events and then its result as JSON lines on the protocol
   stream (the worker's original stdout; fd 1 is pointed at stderr so stray prints cannot corrupt it).

After the child exits the worker removes the scratch directory and writes ``{"kind": "done"}`` with the
exit code. A fresh child per execution means nothing one tenant's code leaves behind (threads, patched
modules, files) is there for the next. The runner, not the worker, talks to NATS, and it stamps every
line with the execution it handed over, so a child can only speak for its own execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx

import flow_sdk
from flow_local.runtime import reaper, sandbox
from flow_local.runtime.agent import run_isolated_agent
from flow_local.runtime.code_block import CodeBlockError, run_code_block
from flow_sdk.runtime_contract import RUNTIME_VARIABLES

MAX_CAPTURE_CHARS = 1_000_000
"""Characters of stdout (and of stderr) kept per execution; the rest is dropped."""
STREAM_BATCH_SECONDS = 0.2
"""Shortest gap between two ``message`` events of one stream (lines in between go out together)."""
STREAM_BATCH_CHARS = 64 * 1024
"""Held-back text that is sent at once, whatever the gap."""
RELAY_POLL_SECONDS = 0.2
MEGABYTE = 1024 * 1024
PRELOADED = (flow_sdk, httpx)
WRITABLE_ENV = "FLOW_LOCAL_RUNNER_WRITABLE"
"""Extra directories user code may write, separated by ``os.pathsep`` (a shared volume; empty by default)."""


def extra_writable() -> list[Path]:
    """The directories of ``FLOW_LOCAL_RUNNER_WRITABLE`` that exist."""
    value = os.environ.get(WRITABLE_ENV, "")
    return [Path(part) for part in value.split(os.pathsep) if part and Path(part).is_dir()]


def job_environment(env: dict[str, str], scratch: Path) -> dict[str, str]:
    """The whole environment of a child: a few base variables, the scratch paths and the runtime variables."""
    result = {name: os.environ[name] for name in sandbox.BASE_ENVIRONMENT if name in os.environ}
    result.update({"HOME": str(scratch), "TMPDIR": str(scratch), "PYTHONUNBUFFERED": "1"})
    result.update({name: str(env[name]) for name in RUNTIME_VARIABLES if env.get(name)})
    return result


def _address_space_bytes() -> int:
    """The current virtual size of this process."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def limit_memory(memory_mb: int | None) -> None:
    """Limit the address space to the current size plus ``memory_mb`` (RLIMIT_AS), for good."""
    if not memory_mb:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space_bytes() + int(memory_mb) * MEGABYTE
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


class LiveCapture(io.TextIOBase):
    """Stands in for stdout or stderr: sends what is written as ``message`` events while the code runs.

    Text is batched: a write that completes a line is sent at once unless a batch went out less than
    :data:`STREAM_BATCH_SECONDS` ago; what is held back goes out with the next write past that delay,
    with :meth:`flush_pending` (called every :data:`STREAM_BATCH_SECONDS` by the child) or at the end.
    A batch over :data:`STREAM_BATCH_CHARS` is sent at once. After :data:`MAX_CAPTURE_CHARS` characters
    the rest is dropped.
    """

    def __init__(self, stream: str, send: Callable[[dict[str, Any]], None]) -> None:
        self.stream = stream
        self._send = send
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._pending_chars = 0
        self._total_chars = 0
        self._last_sent = 0.0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            kept = text[: max(0, MAX_CAPTURE_CHARS - self._total_chars)]
            if kept:
                self._pending.append(kept)
                self._pending_chars += len(kept)
                self._total_chars += len(kept)
            due = "\n" in kept and time.monotonic() - self._last_sent >= STREAM_BATCH_SECONDS
            if due or self._pending_chars >= STREAM_BATCH_CHARS:
                self._send_pending()
        return len(text)

    def flush_pending(self) -> None:
        """Send whatever is held back."""
        with self._lock:
            self._send_pending()

    def _send_pending(self) -> None:
        text = "".join(self._pending)
        if not text:
            return
        self._pending.clear()
        self._pending_chars = 0
        self._last_sent = time.monotonic()
        self._send(
            {"kind": "event", "event_type": "message", "event_data": {"stream": self.stream, "text": text}}
        )


class Child:
    """The forked child running one job, writing its lines on the protocol stream."""

    def __init__(self, protocol: IO[str], job: dict[str, Any], message: dict[str, Any]) -> None:
        self.protocol = protocol
        self.job = job
        self.message = message
        self._lock = threading.Lock()

    def write(self, line: dict[str, Any]) -> None:
        """Write one protocol line (from any thread: user code may print from its own)."""
        with self._lock:
            self.protocol.write(json.dumps(line, default=str) + "\n")
            self.protocol.flush()

    async def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Send one event of the execution to the runner."""
        self.write({"kind": "event", "event_type": event_type, "event_data": data})

    async def run(self) -> None:
        """Run the job with its output sent as it is written, then send the error and the result."""
        captures = (LiveCapture("stdout", self.write), LiveCapture("stderr", self.write))
        flusher = asyncio.create_task(_flush_every(captures, STREAM_BATCH_SECONDS))
        result: dict[str, Any] = {}
        error: dict[str, Any] | None = None
        try:
            with contextlib.redirect_stdout(captures[0]), contextlib.redirect_stderr(captures[1]):
                result = await self._execute()
        except CodeBlockError as exc:
            error = exc.as_dict()
        except MemoryError:
            error = {"message": "the execution ran out of memory", "type": "MemoryError"}
        except Exception as exc:
            error = CodeBlockError(type(exc).__name__, str(exc)).as_dict()
        finally:
            flusher.cancel()
            for capture in captures:
                capture.flush_pending()
        if error is not None:
            await self.emit("error", error)
        self.write({"kind": "result", **result, "error": error})

    async def _execute(self) -> dict[str, Any]:
        spec = self.job.get("spec") or {}
        inputs = self.message.get("input_data") or {}
        if self.job.get("component_type") == "agent":
            return await run_isolated_agent(self.emit, spec, inputs)
        output = await run_code_block(
            str(spec.get("source", "")),
            inputs,
            lambda: _bound_flow(self.job),
            str(spec.get("entrypoint") or "main"),
        )
        return {"output": output}


async def _flush_every(captures: tuple[LiveCapture, ...], seconds: float) -> None:
    """Send the captures' held-back text every ``seconds`` (until cancelled)."""
    while True:
        await asyncio.sleep(seconds)
        for capture in captures:
            capture.flush_pending()


def _bound_flow(job: dict[str, Any]) -> Any:
    """A ``FlowSDK()`` from the runtime variables, bound to the code block's request context."""
    flow = flow_sdk.FlowSDK()
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


def run_child(pipe: int, request: dict[str, Any], scratch: Path) -> None:
    """In the forked child: die with the worker, confine, then run the job; never returns."""
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sandbox.die_with_parent()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        job = dict(request["job"])
        writable = [scratch, *extra_writable()]
        os.chdir(scratch)
        os.environ.clear()
        os.environ.update(job_environment(job.get("env") or {}, scratch))
        if not sandbox.confine(writable):
            sandbox.warn_unconfined()
        limit_memory(job.get("memory_mb"))
        protocol = os.fdopen(pipe, "w")
        asyncio.run(Child(protocol, job, dict(request.get("input") or {})).run())
    except BaseException as exc:
        code = 1
        with contextlib.suppress(Exception):
            print(f"worker child failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    finally:
        os._exit(code)


def _relay(pipe: int, protocol: IO[str], pid: int) -> int:
    """Copy the child's lines to the protocol stream until the child exits; return its exit code."""
    pending = b""
    status: int | None = None
    while status is None:
        readable, _, _ = select.select([pipe], [], [], RELAY_POLL_SECONDS)
        if readable:
            chunk = os.read(pipe, 65536)
            if chunk:
                pending = _forward(pending + chunk, protocol)
                continue
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = raw
    reaper.kill_tree(os.getpid())
    os.set_blocking(pipe, False)
    with contextlib.suppress(BlockingIOError, OSError):
        while chunk := os.read(pipe, 65536):
            pending = _forward(pending + chunk, protocol)
    os.close(pipe)
    return os.waitstatus_to_exitcode(status)


def _forward(data: bytes, protocol: IO[str]) -> bytes:
    """Write the complete lines of ``data``; return the incomplete rest."""
    *lines, rest = data.split(b"\n")
    for line in lines:
        if line.strip():
            protocol.write(line.decode(errors="replace") + "\n")
    protocol.flush()
    return rest


def handle(protocol: IO[str], request: dict[str, Any], scratch_root: Path) -> None:
    """In the worker: fork a child for one job, relay its lines, clean up and report ``done``."""
    scratch = Path(tempfile.mkdtemp(prefix="exec-", dir=scratch_root))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        os.close(protocol.fileno())
        run_child(write_end, request, scratch)
    os.close(write_end)
    exit_code = _relay(read_end, protocol, pid)
    shutil.rmtree(scratch, ignore_errors=True)
    protocol.write(json.dumps({"kind": "done", "exit_code": exit_code}) + "\n")
    protocol.flush()


def _protocol_stream() -> IO[str]:
    """Keep the real stdout for the protocol and send fd 1 to stderr."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return protocol


def _terminate(_signum: int, _frame: Any) -> None:
    """SIGTERM (from the runner, or the runner's death): kill every descendant, then exit at once."""
    reaper.kill_tree(os.getpid())
    os._exit(128 + signal.SIGTERM)


def serve() -> None:
    """Announce readiness, then run jobs one at a time until stdin closes (its runner is gone).

    The worker is a subreaper: whatever a child leaves behind, even in another session or process
    group, is re-parented to it and killed when the job ends or the worker is told to stop (SIGTERM).
    """
    signal.signal(signal.SIGTERM, _terminate)
    sandbox.die_with_parent(signal.SIGTERM)
    with contextlib.suppress(OSError):
        sandbox.become_subreaper()
    protocol = _protocol_stream()
    scratch_root = Path(tempfile.mkdtemp(prefix="flow-worker-"))
    try:
        protocol.write(json.dumps({"ready": os.getpid(), "confined": sandbox.landlock_abi() > 0}) + "\n")
        for line in sys.stdin:
            if line.strip():
                handle(protocol, json.loads(line), scratch_root)
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)


if __name__ == "__main__":
    serve()
