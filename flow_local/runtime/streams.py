"""JetStream streams and subjects of the execution transport (shared by the platform and runners).

Streams (file storage, so acknowledged messages survive a restart):

- ``EXEC_INPUT``  ``exec.input.>``  work queue: input of each execution, published before dispatch.
- ``EXEC_DISPATCH`` ``exec.dispatch.>`` work queue: one job per execution, pulled by runners through the
  shared durable consumer ``runners`` (any number of runners share it).
- ``EXEC_OUTPUT`` ``exec.output.>``, ``EXEC_EVENTS`` ``exec.events.>``, ``EXEC_STATUS`` ``exec.status.>``:
  what runners send back, consumed by the platform through durable consumers.

Core NATS (not stored): ``exec.control.{execution_id}`` (kill requests to runners) and
``exec.runners.heartbeat`` (each runner's list of claimed executions, every second).
"""

from __future__ import annotations

import json
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError

INPUT_STREAM = "EXEC_INPUT"
DISPATCH_STREAM = "EXEC_DISPATCH"
OUTPUT_STREAM = "EXEC_OUTPUT"
EVENTS_STREAM = "EXEC_EVENTS"
STATUS_STREAM = "EXEC_STATUS"
RUNNERS_CONSUMER = "runners"
HEARTBEAT_SUBJECT = "exec.runners.heartbeat"
DAY_SECONDS = 86400.0

STREAMS: dict[str, tuple[str, RetentionPolicy]] = {
    INPUT_STREAM: ("exec.input.>", RetentionPolicy.WORK_QUEUE),
    DISPATCH_STREAM: ("exec.dispatch.>", RetentionPolicy.WORK_QUEUE),
    OUTPUT_STREAM: ("exec.output.>", RetentionPolicy.LIMITS),
    EVENTS_STREAM: ("exec.events.>", RetentionPolicy.LIMITS),
    STATUS_STREAM: ("exec.status.>", RetentionPolicy.LIMITS),
}


def input_subject(execution_id: str) -> str:
    """``exec.input.{execution_id}``."""
    return f"exec.input.{execution_id}"


def dispatch_subject(execution_id: str) -> str:
    """``exec.dispatch.{execution_id}``."""
    return f"exec.dispatch.{execution_id}"


def control_subject(execution_id: str) -> str:
    """``exec.control.{execution_id}`` (core NATS)."""
    return f"exec.control.{execution_id}"


async def ensure_streams(js: JetStreamContext) -> None:
    """Create the execution streams (idempotent; existing streams are kept with their messages)."""
    for name, (subject, retention) in STREAMS.items():
        config = StreamConfig(
            name=name,
            subjects=[subject],
            retention=retention,
            storage=StorageType.FILE,
            max_age=None if retention == RetentionPolicy.WORK_QUEUE else DAY_SECONDS,
        )
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)


async def ensure_runner_consumer(js: JetStreamContext, ack_wait_seconds: float = 30.0) -> None:
    """Create the durable pull consumer shared by every runner on ``EXEC_DISPATCH`` (idempotent)."""
    config = ConsumerConfig(
        durable_name=RUNNERS_CONSUMER,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        filter_subject="exec.dispatch.>",
        ack_wait=ack_wait_seconds,
        max_ack_pending=-1,
    )
    await js.add_consumer(DISPATCH_STREAM, config)


def encode(payload: dict[str, Any]) -> bytes:
    """A message body: compact JSON."""
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


def decode(data: bytes) -> dict[str, Any]:
    """A message body as a dict (an empty dict when it is not a JSON object)."""
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
