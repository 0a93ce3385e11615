"""The runtime wire contract, written once: NATS subjects and streams, message shapes, runtime variables.

The SDK's NATS transport, the local platform's execution engine, its runners and the hosted-service host
all import these names; none of them spells a subject, a stream or a variable name by hand.

JetStream streams (file storage):

- ``EXEC_INPUT``    ``exec.input.{execution_id}``    work queue, the platform publishes an :class:`InputMessage`
  when it does not travel inside the job (see :data:`JOB_INPUT_BYTES`).
- ``EXEC_DISPATCH`` ``exec.dispatch.{execution_id}`` work queue, one :class:`DispatchJob` per attempt, pulled by
  runners through the shared durable consumer ``runners``.
- ``EXEC_OUTPUT``   ``exec.output.{execution_id}``   :class:`OutputMessage` from the runner.
- ``EXEC_EVENTS``   ``exec.events.{execution_id}``   :class:`EventMessage` from the runner.
- ``EXEC_STATUS``   ``exec.status.{execution_id}``   :class:`StatusMessage` from the runner.

Core NATS (not stored): ``exec.control.{execution_id}`` (:class:`ControlMessage`, platform to runners) and
``exec.runners.heartbeat`` (:class:`Heartbeat`, runners to platform, every second).
"""

from __future__ import annotations

from typing import Any, Final, Literal, NotRequired, TypedDict

__all__ = [
    "CONTROL_WILDCARD",
    "DISPATCH_STREAM",
    "EVENTS_STREAM",
    "EVENT_TYPES",
    "HEARTBEAT_SUBJECT",
    "INPUT_KEYS",
    "INPUT_STREAM",
    "JOB_INPUT_BYTES",
    "NATS_CREDENTIALS_VARIABLE",
    "OUTPUT_STREAM",
    "RUNNERS_CONSUMER",
    "RUNTIME_VARIABLES",
    "STATUS_STREAM",
    "STREAM_SUBJECTS",
    "ControlMessage",
    "DispatchJob",
    "EventMessage",
    "Heartbeat",
    "InputMessage",
    "OutputMessage",
    "StatusMessage",
    "control_subject",
    "dispatch_subject",
    "events_subject",
    "execution_inbox_prefix",
    "input_subject",
    "output_subject",
    "status_subject",
]

INPUT_STREAM: Final = "EXEC_INPUT"
DISPATCH_STREAM: Final = "EXEC_DISPATCH"
OUTPUT_STREAM: Final = "EXEC_OUTPUT"
EVENTS_STREAM: Final = "EXEC_EVENTS"
STATUS_STREAM: Final = "EXEC_STATUS"
RUNNERS_CONSUMER: Final = "runners"
HEARTBEAT_SUBJECT: Final = "exec.runners.heartbeat"
CONTROL_WILDCARD: Final = "exec.control.*"

STREAM_SUBJECTS: Final[dict[str, str]] = {
    INPUT_STREAM: "exec.input.>",
    DISPATCH_STREAM: "exec.dispatch.>",
    OUTPUT_STREAM: "exec.output.>",
    EVENTS_STREAM: "exec.events.>",
    STATUS_STREAM: "exec.status.>",
}
"""Each stream and the subjects it stores."""

JOB_INPUT_BYTES: Final = 64 * 1024
"""The largest encoded :class:`InputMessage` that travels inside its :class:`DispatchJob` (``input``)
instead of on ``exec.input.{execution_id}``, when every live runner announces that it reads it there."""
EVENT_TYPES: Final = frozenset({"message", "chunk", "tool_call", "done", "error"})
INPUT_KEYS: Final = ("input_data", "session_id", "messages", "state", "config", "context")

RUNTIME_VARIABLES: Final = (
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
    "NATS_CREDENTIALS",
)
"""The variables code inside the platform gets, and ``FlowSDK()`` configures itself from."""

NATS_CREDENTIALS_VARIABLE: Final = "NATS_CREDENTIALS"
"""Set only where the NATS servers run in operator mode: the text of a NATS credentials file (a user JWT and
its NKey seed) holding the execution's own rights; ``NATS_URL`` then carries no credentials."""

ExecutionStatus = Literal["pending", "running", "completed", "failed", "timeout", "cancelled"]


def input_subject(execution_id: str) -> str:
    """``exec.input.{execution_id}``."""
    return f"exec.input.{execution_id}"


def dispatch_subject(execution_id: str) -> str:
    """``exec.dispatch.{execution_id}``."""
    return f"exec.dispatch.{execution_id}"


def output_subject(execution_id: str) -> str:
    """``exec.output.{execution_id}``."""
    return f"exec.output.{execution_id}"


def events_subject(execution_id: str) -> str:
    """``exec.events.{execution_id}``."""
    return f"exec.events.{execution_id}"


def status_subject(execution_id: str) -> str:
    """``exec.status.{execution_id}``."""
    return f"exec.status.{execution_id}"


def control_subject(execution_id: str) -> str:
    """``exec.control.{execution_id}`` (core NATS)."""
    return f"exec.control.{execution_id}"


class InputMessage(TypedDict):
    """The input of one execution, on ``exec.input.{execution_id}``."""

    execution_id: str
    deployment_id: str | None
    input_data: dict[str, Any]
    session_id: str | None
    messages: list[dict[str, Any]] | None
    state: dict[str, Any] | None
    config: dict[str, Any] | None
    context: dict[str, Any] | None


class DispatchJob(TypedDict):
    """One attempt of one execution, on ``exec.dispatch.{execution_id}``.

    ``input`` holds the execution's input message when it is small (:data:`JOB_INPUT_BYTES`); without
    it the input is on ``exec.input.{execution_id}``.
    """

    execution_id: str
    component_type: str
    component_id: str
    spec: dict[str, Any]
    env: dict[str, str]
    timeout_seconds: int
    memory_mb: int | None
    deployment_id: str | None
    attempt: int
    input: NotRequired[InputMessage]


class OutputMessage(TypedDict):
    """The result of an execution, on ``exec.output.{execution_id}`` (``error`` set when it failed).

    ``events_seq`` is the ``EXEC_EVENTS`` sequence of the last event the runner published for this
    attempt (0: none), so the platform stores those events before the end without asking the stream;
    events that code in the execution published itself are not counted in it. ``started_at`` is when
    the runner started the job (ISO 8601, the runner's clock): the platform stores it as the start of
    an execution it has not seen start (it missed the runner's heartbeats).
    """

    execution_id: str
    deployment_id: str | None
    output: Any
    usage: dict[str, Any] | None
    messages: list[dict[str, Any]] | None
    state: dict[str, Any] | None
    error: str | None
    timestamp: str
    events_seq: NotRequired[int]
    started_at: NotRequired[str]


class EventMessage(TypedDict):
    """One streaming event, on ``exec.events.{execution_id}``; ``event_type`` is one of :data:`EVENT_TYPES`."""

    execution_id: str
    deployment_id: str | None
    event_type: str
    event_data: dict[str, Any]
    timestamp: str


class StatusMessage(TypedDict):
    """A status change reported by a runner, on ``exec.status.{execution_id}``: ``timeout`` or ``cancelled``
    when the runner ended the execution itself; ``running`` only from runners of an older version (a runner
    now announces a job it claims in a :class:`Heartbeat`)."""

    execution_id: str
    status: str
    timestamp: str


class ControlMessage(TypedDict):
    """A request to the runners, on ``exec.control.{execution_id}``; a runner kills only ``attempt`` or older."""

    action: Literal["kill"]
    status: str
    attempt: int | None


class Heartbeat(TypedDict):
    """A runner's announcement, on ``exec.runners.heartbeat``: the executions it holds.

    A runner sends one right before it claims jobs, naming them; the platform stores an execution as
    ``running`` when a heartbeat first names it.

    ``job_input`` is true when the runner reads an input carried in the job (:attr:`DispatchJob.input`);
    a runner that does not say so reads inputs only from ``exec.input.{execution_id}``.
    """

    runner_id: str
    executions: list[str]
    workers: int
    job_input: NotRequired[bool]


def execution_inbox_prefix(execution_id: str) -> str:
    """``_INBOX.{execution_id}``: the reply subjects of a connection made inside an execution.

    The execution's NATS credentials may receive only under this prefix, so code inside an execution
    never sees replies meant for another connection.
    """
    return f"_INBOX.{execution_id}"
