"""Large execution inputs and outputs travel by reference: the claim-check pattern over JetStream.

A message body over :data:`CLAIM_THRESHOLD_BYTES` is not published whole. Its bytes go to the
platform-private JetStream object store bucket :data:`PAYLOADS_BUCKET` (file storage next to the
streams, so it survives restarts) and the subject carries only ``{"execution_id", "deployment_id",
"payload_ref": {"name", "size"}}``. Whoever receives the message resolves the reference, uses the body
and deletes the object. Both the platform and every runner (local or on another host) reach the bucket
with the NATS credentials they already hold; code inside an execution has no rights on it, and the
tenant storage API never lists it.
"""

from __future__ import annotations

import io
from typing import Any

from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.object_store import ObjectStore

from flow_local.runtime.streams import decode, encode

PAYLOADS_BUCKET = "EXEC_PAYLOADS"
"""The object store bucket of claim-checked payloads (stream ``OBJ_EXEC_PAYLOADS``)."""
PAYLOADS_STREAM = f"OBJ_{PAYLOADS_BUCKET}"
CLAIM_THRESHOLD_BYTES = 256 * 1024
"""Bodies larger than this (encoded JSON) travel by reference."""
PAYLOAD_LIMIT_BYTES = 16 * 1024 * 1024
"""The largest input or output an execution may have, as compact JSON (the document states it)."""
PAYLOAD_MAX_AGE_SECONDS = 86400.0
"""A payload nobody resolved (its execution was lost) is dropped after a day."""
REF_KEY = "payload_ref"


class PayloadMissing(LookupError):
    """A message refers to a payload the bucket does not hold (any more)."""


async def ensure_bucket(js: JetStreamContext, replicas: int = 1) -> None:
    """Create the payload bucket (idempotent; existing objects are kept), with ``replicas`` copies on a cluster."""
    config = ObjectStoreConfig(storage=StorageType.FILE, ttl=PAYLOAD_MAX_AGE_SECONDS, replicas=replicas)
    await js.create_object_store(PAYLOADS_BUCKET, config=config)


async def _bucket(js: JetStreamContext) -> ObjectStore:
    return await js.object_store(PAYLOADS_BUCKET)


async def pack(js: JetStreamContext, name: str, body: bytes, envelope: dict[str, Any]) -> bytes:
    """The body to publish: ``body`` itself when small, else a reference to it stored as ``name``.

    Args:
        js: The JetStream context to store with.
        name: The object's name, unique per message (e.g. ``input/{execution_id}/{attempt}``).
        body: The encoded message.
        envelope: Fields the reference message keeps in the clear (``execution_id``, ``deployment_id``).
    """
    if len(body) <= CLAIM_THRESHOLD_BYTES:
        return body
    bucket = await _bucket(js)
    await bucket.put(name, body)
    return encode({**envelope, REF_KEY: {"name": name, "size": len(body)}})


def reference_of(message: dict[str, Any]) -> str | None:
    """The object name a message refers to, or None when the message carries its body itself."""
    ref = message.get(REF_KEY)
    if isinstance(ref, dict) and isinstance(ref.get("name"), str):
        return str(ref["name"])
    return None


async def unpack(js: JetStreamContext, message: dict[str, Any]) -> dict[str, Any]:
    """The full message: ``message`` itself, or the stored body it refers to.

    Raises:
        PayloadMissing: The referenced object is not in the bucket.
    """
    name = reference_of(message)
    if name is None:
        return message
    sink = io.BytesIO()
    try:
        bucket = await _bucket(js)
        await bucket.get(name, writeinto=sink)
    except (NotFoundError, BucketNotFoundError) as exc:
        raise PayloadMissing(f"the execution payload {name!r} is no longer stored") from exc
    return decode(sink.getvalue())


async def discard(js: JetStreamContext, message: dict[str, Any]) -> None:
    """Delete the object a message refers to, if any (no error when it is already gone)."""
    name = reference_of(message)
    if name is None:
        return
    try:
        bucket = await _bucket(js)
        await bucket.delete(name)
    except (NotFoundError, BucketNotFoundError):
        return
