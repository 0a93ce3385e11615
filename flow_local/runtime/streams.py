"""Create the execution transport's JetStream streams and the runners' consumer; encode and decode bodies.

The subjects, stream names and message shapes are those of :mod:`flow_sdk.runtime_contract`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError

from flow_sdk.runtime_contract import (
    DISPATCH_STREAM,
    INPUT_STREAM,
    RUNNERS_CONSUMER,
    STREAM_SUBJECTS,
)

DAY_SECONDS = 86400.0
WORK_QUEUES = frozenset({INPUT_STREAM, DISPATCH_STREAM})


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create the execution streams (idempotent; existing streams are kept with their messages).

    Args:
        js: The platform's JetStream context.
        replicas: Copies of each stream kept by a NATS cluster (3 on a three-node cluster).
    """
    for name, subject in STREAM_SUBJECTS.items():
        retention = RetentionPolicy.WORK_QUEUE if name in WORK_QUEUES else RetentionPolicy.LIMITS
        config = StreamConfig(
            name=name,
            subjects=[subject],
            retention=retention,
            storage=StorageType.FILE,
            max_age=None if retention == RetentionPolicy.WORK_QUEUE else DAY_SECONDS,
            num_replicas=replicas,
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
        filter_subject=STREAM_SUBJECTS[DISPATCH_STREAM],
        ack_wait=ack_wait_seconds,
        max_ack_pending=-1,
    )
    await js.add_consumer(DISPATCH_STREAM, config)


def encode(payload: Mapping[str, Any]) -> bytes:
    """A message body: compact JSON."""
    return json.dumps(payload, separators=(",", ":"), default=str).encode()


def decode(data: bytes) -> dict[str, Any]:
    """A message body as a dict (an empty dict when it is not a JSON object)."""
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
