"""Read an execution's input from ``EXEC_INPUT`` with two cheap stream requests instead of a consumer.

A small input travels inside its job (``DispatchJob.input``) and is never on the stream; the rest of
this module is for the others (large ones, and every input while a runner of an older version is live).
The platform publishes the input on ``exec.input.{execution_id}`` before it publishes the job, so a
runner holding the job finds the input already stored: it reads the last message of that subject
(``STREAM.MSG.GET``) and removes it by purging the subject up to that sequence (``STREAM.PURGE``), which
leaves the work queue empty as a consumer's ack would. Creating, fetching from and deleting a
per-execution consumer costs the server several times more and adds two round trips to every execution.
"""

from __future__ import annotations

from typing import Any

from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from flow_local.runtime.streams import decode
from flow_sdk.runtime_contract import INPUT_KEYS, INPUT_STREAM, input_subject


class StoredInput:
    """An input message read from the stream, with the sequence that identifies it.

    Attributes:
        message: The decoded input (``input_data``, ``session_id``, ``messages``, ``state``, ...).
        seq: Its stream sequence.
    """

    def __init__(self, message: dict[str, Any], seq: int) -> None:
        self.message = message
        self.seq = seq


async def read_input(
    js: JetStreamContext, execution_id: str, deployment_id: str | None
) -> StoredInput | None:
    """The stored input of an execution, or None when none is stored (yet)."""
    try:
        raw = await js.get_last_msg(INPUT_STREAM, input_subject(execution_id))
    except NotFoundError:
        return None
    return StoredInput(
        complete_input(decode(raw.data or b""), execution_id, deployment_id), int(raw.seq or 0)
    )


def complete_input(message: dict[str, Any], execution_id: str, deployment_id: str | None) -> dict[str, Any]:
    """An input message with every key of the contract (absent ones None), read from the stream or a job."""
    message.setdefault("execution_id", execution_id)
    message.setdefault("deployment_id", deployment_id)
    for key in INPUT_KEYS:
        message.setdefault(key, None)
    return message


async def remove_input(js: JetStreamContext, execution_id: str, seq: int) -> None:
    """Remove the input messages of an execution up to and including ``seq`` (a retry's newer input stays)."""
    await js.purge_stream(INPUT_STREAM, seq=seq + 1, subject=input_subject(execution_id))
