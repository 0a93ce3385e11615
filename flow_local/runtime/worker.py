"""A warm worker: a pre-loaded process that runs each execution in a fresh confined child.

The worker itself never runs user code and holds no credentials. It imports everything a code block
or an agent needs once, and keeps one child forked ahead of the next job (a *spare*), which

1. gets its own scratch directory as working directory, ``HOME`` and ``TMPDIR``;
2. gets a scrubbed environment: a few base variables and little else (no NATS password, nothing
   naming the platform's data directory);
3. is confined (:mod:`flow_local.runtime.sandbox`: Landlock, no capabilities, no new privileges), then
   waits for its job on a pipe of its own.

For each job (one JSON line on stdin from its runner) the worker writes the line, undecoded, to the
spare's pipe; the spare decodes it, adds the execution's runtime variables and the job's address-space
limit and runs the code block or agent, writing events and then its result as JSON lines, which the worker relays on the protocol
stream (its original stdout; fd 1 is pointed at stderr so stray prints cannot corrupt it). Fork and
confinement thus happen before the job arrives, off the path from submit to result. A plain ``main``
runs in the child's only thread with no event loop; an ``async def main``, a ``main`` taking ``flow``
and an agent get an event loop once the job is read (see :class:`Child`).

After the child exits the worker kills whatever it left behind, writes ``{"kind": "done"}`` with the
exit code, removes the scratch directory and forks the next spare. A fresh child per execution means
nothing one tenant's code leaves behind (threads, patched modules, files) is there for the next. The
runner, not the worker, talks to NATS, and it stamps every line with the execution it handed over, so
a child can only speak for its own execution.
"""

from __future__ import annotations

import asyncio
import concurrent.futures.thread
import contextlib
import gc
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
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx

import flow_sdk
from flow_local.runtime import reaper, sandbox
from flow_local.runtime.agent import run_isolated_agent
from flow_local.runtime.code_block import (
    CodeBlockError,
    call_in_place,
    load_entrypoint,
    run_loaded,
    runs_in_place,
)
from flow_sdk.runtime_contract import RUNTIME_VARIABLES

MAX_CAPTURE_CHARS = 1_000_000
"""Characters of stdout (and of stderr) kept per execution; the rest is dropped."""
STREAM_BATCH_SECONDS = 0.2
"""Shortest gap between two ``message`` events of one stream (lines in between go out together)."""
STREAM_BATCH_CHARS = 64 * 1024
"""Held-back text that is sent at once, whatever the gap."""
RELAY_POLL_SECONDS = 0.2
MEGABYTE = 1024 * 1024
CHILD_THREADS = 2
"""Threads a child may start for itself after its memory limit is set (see :func:`limit_memory`)."""
JOB_READ_BYTES = 64 * 1024
"""Bytes asked for per read of the job pipe (a larger buffer costs a fresh child more than the extra reads)."""
PRELOADED = (flow_sdk, httpx, concurrent.futures.thread)
"""Modules imported once in the worker, so no child imports them again (``asyncio.to_thread`` needs
the thread pool)."""
T = TypeVar("T")
WRITABLE_ENV = "FLOW_LOCAL_RUNNER_WRITABLE"
"""Extra directories user code may write, separated by ``os.pathsep`` (a shared volume; empty by default)."""


def extra_writable() -> list[Path]:
    """The directories of ``FLOW_LOCAL_RUNNER_WRITABLE`` that exist."""
    value = os.environ.get(WRITABLE_ENV, "")
    return [Path(part) for part in value.split(os.pathsep) if part and Path(part).is_dir()]


def base_environment() -> dict[str, str]:
    """What every child's environment starts from: a few base variables of this process's environment."""
    result = {name: os.environ[name] for name in sandbox.BASE_ENVIRONMENT if name in os.environ}
    result["PYTHONUNBUFFERED"] = "1"
    return result


def scratch_environment(scratch: Path) -> dict[str, str]:
    """The variables naming a child's scratch directory."""
    return {"HOME": str(scratch), "TMPDIR": str(scratch)}


def runtime_environment(env: dict[str, str]) -> dict[str, str]:
    """The runtime variables a job carries (empty ones left out)."""
    return {name: str(env[name]) for name in RUNTIME_VARIABLES if env.get(name)}


def keep_base_environment() -> None:
    """Reduce this process's environment to :func:`base_environment`, the start of every child's.

    The worker calls it once it has read what it needs (its writable directories, its temporary
    directory), so that a child only adds its scratch paths and its runtime variables.
    """
    environment = base_environment()
    os.environ.clear()
    os.environ.update(environment)


def _address_space_bytes() -> int:
    """The current virtual size of this process."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _thread_stack_bytes() -> int:
    """The address space a new thread's stack takes (the C library sizes it from RLIMIT_STACK)."""
    size = threading.stack_size()
    if size:
        return size
    soft, _hard = resource.getrlimit(resource.RLIMIT_STACK)
    return soft if soft != resource.RLIM_INFINITY else 8 * MEGABYTE


def limit_memory(memory_mb: int | None) -> None:
    """Limit the address space to the current size plus ``memory_mb`` (RLIMIT_AS), for good.

    The stacks of the threads the child itself may start later (:data:`CHILD_THREADS`: the output
    flusher, the thread of a sync ``main`` taking ``flow``) are added, so they do not count against
    the job's ``memory_mb``.
    """
    if not memory_mb:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    headroom = CHILD_THREADS * _thread_stack_bytes()
    limit = _address_space_bytes() + headroom + int(memory_mb) * MEGABYTE
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


class LiveCapture(io.TextIOBase):
    """Stands in for stdout or stderr: sends what is written as ``message`` events while the code runs.

    Text is batched: a write that completes a line is sent at once unless a batch went out less than
    :data:`STREAM_BATCH_SECONDS` ago; what is held back goes out with the next write past that delay,
    with :meth:`flush_pending` (called every :data:`STREAM_BATCH_SECONDS` by the child's flusher
    thread, which ``on_hold`` starts the first time text is held back) or at the end. A batch over
    :data:`STREAM_BATCH_CHARS` is sent at once. After :data:`MAX_CAPTURE_CHARS` characters the rest is
    dropped.
    """

    def __init__(
        self, stream: str, send: Callable[[dict[str, Any]], None], on_hold: Callable[[], None] | None = None
    ) -> None:
        self.stream = stream
        self._send = send
        self._on_hold = on_hold
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
            held = bool(self._pending)
        if held and self._on_hold is not None:
            self._on_hold()
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
    """The forked child running one job, writing its lines on the protocol stream.

    A plain ``main`` taking no ``flow`` is called in the child's only thread, with no event loop;
    an ``async def main``, a ``main`` taking ``flow`` and an agent run in an event loop made for them.
    Held-back output is sent by a flusher thread started the first time output is held back, so a
    ``main`` that prints nothing or prints rarely costs no thread.
    """

    def __init__(self, protocol: IO[str]) -> None:
        self.protocol = protocol
        self.job: dict[str, Any] = {}
        self.message: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._flusher_lock = threading.Lock()
        self._flusher: threading.Thread | None = None
        self.captures = (
            LiveCapture("stdout", self.write, self._start_flusher),
            LiveCapture("stderr", self.write, self._start_flusher),
        )

    def write(self, line: dict[str, Any]) -> None:
        """Write one protocol line (from any thread: user code may print from its own)."""
        with self._lock:
            self.protocol.write(json.dumps(line, default=str) + "\n")
            self.protocol.flush()

    async def emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Send one event of the execution to the runner."""
        self.write({"kind": "event", "event_type": event_type, "event_data": data})

    def run(self, job: dict[str, Any], message: dict[str, Any]) -> None:
        """Run the job with its output sent as it is written, then send the error and the result."""
        self.job = job
        self.message = message
        result: dict[str, Any] = {}
        error: dict[str, Any] | None = None
        try:
            with contextlib.redirect_stdout(self.captures[0]), contextlib.redirect_stderr(self.captures[1]):
                result = self._execute()
        except CodeBlockError as exc:
            error = exc.as_dict()
        except MemoryError:
            error = {"message": "the execution ran out of memory", "type": "MemoryError"}
        except Exception as exc:
            error = CodeBlockError(type(exc).__name__, str(exc)).as_dict()
        finally:
            for capture in self.captures:
                capture.flush_pending()
        if error is not None:
            self.write({"kind": "event", "event_type": "error", "event_data": error})
        self.write({"kind": "result", **result, "error": error})

    def _execute(self) -> dict[str, Any]:
        spec = self.job.get("spec") or {}
        inputs = self.message.get("input_data") or {}
        if self.job.get("component_type") == "agent":
            return _in_event_loop(run_isolated_agent(self.emit, spec, inputs))
        function, filename = load_entrypoint(
            str(spec.get("source", "")), str(spec.get("entrypoint") or "main")
        )
        if runs_in_place(function):
            return {"output": call_in_place(function, inputs, filename)}
        output = _in_event_loop(run_loaded(function, filename, inputs, lambda: _bound_flow(self.job)))
        return {"output": output}

    def _start_flusher(self) -> None:
        """Start the thread that sends held-back output every :data:`STREAM_BATCH_SECONDS` (once)."""
        with self._flusher_lock:
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_every, name="output-flusher", daemon=True)
                with contextlib.suppress(RuntimeError):  # no room left for a thread: output goes at the end
                    self._flusher.start()

    def _flush_every(self) -> None:
        while True:
            time.sleep(STREAM_BATCH_SECONDS)
            for capture in self.captures:
                capture.flush_pending()


def _in_event_loop(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` in a new event loop, never closed: the child exits at once after its result."""
    return asyncio.Runner().run(work)


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


class Spare:
    """A child forked and confined ahead of its job, waiting for the job on a pipe of its own.

    Attributes:
        pid: The child's process id.
        job_pipe: The write end of the pipe its job is written to (closed once written).
        lines: The read end of the pipe it writes its protocol lines to.
        scratch: Its scratch directory.
    """

    def __init__(self, pid: int, job_pipe: int, lines: int, scratch: Path) -> None:
        self.pid = pid
        self.job_pipe = job_pipe
        self.lines = lines
        self.scratch = scratch
        self.reaped = False
        self.sent = False

    def waiting(self) -> bool:
        """Whether the child still waits for its job (it may have died, e.g. when confining it failed)."""
        pid, _status = os.waitpid(self.pid, os.WNOHANG)
        self.reaped = pid != 0
        return not self.reaped

    def send(self, body: bytes) -> None:
        """Write the job and close the pipe; a child that died meanwhile is left to :func:`_relay`."""
        self.sent = True
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(self.job_pipe, view) :]
        except BrokenPipeError:
            pass
        finally:
            os.close(self.job_pipe)

    def discard(self) -> None:
        """Kill and reap the child unless it was reaped, close its pipes unless its job was sent (they
        belong to :func:`handle` then), and remove its scratch directory."""
        if not self.reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.reaped = True
        if not self.sent:
            for fd in (self.job_pipe, self.lines):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self.sent = True
        shutil.rmtree(self.scratch, ignore_errors=True)


class Confinement:
    """What every child of a worker is confined to, worked out once in the worker.

    Attributes:
        roots: The directories a child may read (:func:`flow_local.runtime.sandbox.read_roots`).
        rules: The roots and devices opened once (``O_PATH``); each child closes its copies once confined.
        writable: The extra directories it may write (``FLOW_LOCAL_RUNNER_WRITABLE``).
    """

    def __init__(self) -> None:
        self.roots = sandbox.read_roots()
        self.rules = sandbox.OpenedRules(self.roots)
        self.writable = extra_writable()


def fork_spare(scratch_root: Path, protocol: IO[str], confinement: Confinement) -> Spare:
    """Fork the child of the next job: it confines itself and waits (see :func:`run_child`)."""
    scratch = Path(tempfile.mkdtemp(prefix="exec-", dir=scratch_root))
    job_read, job_write = os.pipe()
    lines_read, lines_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(job_write)
        os.close(lines_read)
        os.close(protocol.fileno())
        run_child(job_read, lines_write, scratch, confinement)
    os.close(job_read)
    os.close(lines_write)
    return Spare(pid, job_write, lines_read, scratch)


def run_child(job_pipe: int, lines_pipe: int, scratch: Path, confinement: Confinement) -> None:
    """In the forked child: die with the worker, confine, then wait for the job and run it.

    Never returns. Nothing of the job is read before the child is confined; an event loop or thread
    the job needs is made after confining, so it is confined too (Landlock and no-new-privileges apply
    to the thread that asks and to the threads it starts later). After the result line the child exits
    at once, without closing a loop or joining a thread: the worker removes whatever it leaves.
    """
    code = 0
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sandbox.die_with_parent()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.chdir(scratch)
        os.environ.update(scratch_environment(scratch))  # onto keep_base_environment() of the worker
        try:
            confined = sandbox.confine([scratch, *confinement.writable], opened=confinement.rules)
        finally:
            confinement.rules.close()  # the child holds none of the worker's descriptors
        if not confined:
            sandbox.warn_unconfined()
        child = Child(os.fdopen(lines_pipe, "w"))
        request = _read_job(job_pipe)
        job = dict(request["job"])
        os.environ.update(runtime_environment(job.get("env") or {}))
        limit_memory(job.get("memory_mb"))
        child.run(job, dict(request.get("input") or {}))
    except BaseException as exc:
        code = 1
        with contextlib.suppress(Exception):
            print(f"worker child failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
    finally:
        os._exit(code)


def _read_job(pipe: int) -> dict[str, Any]:
    """The job the worker writes on ``pipe`` (all of it, up to the pipe's end)."""
    chunks: list[bytes] = []
    while chunk := os.read(pipe, JOB_READ_BYTES):
        chunks.append(chunk)
    os.close(pipe)
    request = json.loads(b"".join(chunks))
    if not isinstance(request, dict):
        raise ValueError("the job is not a JSON object")
    return request


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
        done, raw = os.waitpid(pid, 0 if readable else os.WNOHANG)
        if done:
            status = raw
    reaper.kill_own_tree()
    os.set_blocking(pipe, False)
    with contextlib.suppress(BlockingIOError, OSError):
        while chunk := os.read(pipe, 65536):
            pending = _forward(pending + chunk, protocol)
    os.close(pipe)
    return os.waitstatus_to_exitcode(status)


def _forward(data: bytes, protocol: IO[str]) -> bytes:
    """Write the complete lines of ``data``, but none that claims to be the worker's ``done``; return the
    incomplete rest.

    User code can write to its child's result pipe. A ``done`` line from it would end the job early for
    the runner, which would then hand the worker its next job and stamp this child's later lines with
    that other execution.
    """
    *lines, rest = data.split(b"\n")
    for line in lines:
        if line.strip() and not (_may_say_done(line) and _is_done(line)):
            protocol.write(line.decode(errors="replace") + "\n")
    protocol.flush()
    return rest


def _may_say_done(line: bytes) -> bool:
    """Whether a line could decode to ``"kind": "done"``: JSON spells those letters either as they are
    or with ``\\u`` escapes, so a line with neither is relayed without decoding it."""
    return b"done" in line or b"\\u" in line


def _is_done(line: bytes) -> bool:
    """Whether a protocol line is a ``done`` line (anything that is not JSON is not)."""
    try:
        decoded = json.loads(line)
    except ValueError:
        return False
    return isinstance(decoded, dict) and decoded.get("kind") == "done"


def handle(protocol: IO[str], request: bytes, spare: Spare) -> None:
    """In the worker: hand one job line to its waiting child, relay the child's lines, report ``done``.

    The line goes to the child as it came (the child decodes it): a line that is not a job fails that
    child, not the worker.
    """
    spare.send(request)
    exit_code = _relay(spare.lines, protocol, spare.pid)
    spare.reaped = True
    protocol.write(json.dumps({"kind": "done", "exit_code": exit_code}) + "\n")
    protocol.flush()
    shutil.rmtree(spare.scratch, ignore_errors=True)


def _protocol_stream() -> IO[str]:
    """Keep the real stdout for the protocol and send fd 1 to stderr."""
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return protocol


def _terminate(_signum: int, _frame: Any) -> None:
    """SIGTERM (from the runner, or the runner's death): kill every descendant, then exit at once."""
    reaper.kill_tree(os.getpid())
    os._exit(128 + signal.SIGTERM)


def freeze_heap() -> None:
    """Move every object the worker holds now out of the collector's reach, for good (``gc.freeze``).

    A child's collections then walk only the objects the child made. Without this, the first full
    collection in a child walks every object it inherited and so writes to, and copies, nearly every
    page of the worker's heap: a job making 60,000 lists cost about twice the CPU.
    """
    gc.collect()
    gc.freeze()


def serve() -> None:
    """Announce readiness, then run jobs one at a time until stdin closes (its runner is gone).

    The worker is a subreaper: whatever a child leaves behind, even in another session or process
    group, is re-parented to it and killed when the job ends or the worker is told to stop (SIGTERM).
    The next job's child is forked once the last one's tree is gone, never while it runs.
    """
    signal.signal(signal.SIGTERM, _terminate)
    sandbox.die_with_parent(signal.SIGTERM)
    with contextlib.suppress(OSError):
        sandbox.become_subreaper()
    protocol = _protocol_stream()
    scratch_root = Path(tempfile.mkdtemp(prefix="flow-worker-"))
    confinement = Confinement()
    keep_base_environment()
    sandbox.drop_bounding_set()
    freeze_heap()
    spare = fork_spare(scratch_root, protocol, confinement)
    try:
        protocol.write(json.dumps({"ready": os.getpid(), "confined": sandbox.landlock_abi() > 0}) + "\n")
        for line in sys.stdin.buffer:
            if not line.strip():
                continue
            if not spare.waiting():
                spare.discard()
                spare = fork_spare(scratch_root, protocol, confinement)
            handle(protocol, line, spare)
            spare = fork_spare(scratch_root, protocol, confinement)
    finally:
        spare.discard()
        shutil.rmtree(scratch_root, ignore_errors=True)


if __name__ == "__main__":
    serve()
