"""The NATS (JetStream) execution transport used by runners: input, output, events and status.

Subjects, streams and message shapes come from :mod:`flow_sdk.runtime_contract`. The platform's NATS
server requires credentials: pass them in the URL (``nats://user:password@host:port``). Runners hold
credentials for every execution; code running inside an execution gets a ``NATS_URL`` whose credentials
allow only :meth:`ExecutionTransport.push_event` for that execution (on servers in operator mode, the
credentials come apart from the URL, in ``NATS_CREDENTIALS``).
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from flow_sdk._errors import ConfigurationError, FlowSDKError, PlatformClientError
from flow_sdk._metadata import install_hint
from flow_sdk.runtime_contract import (
    EVENT_TYPES,
    INPUT_KEYS,
    INPUT_STREAM,
    NATS_CREDENTIALS_VARIABLE,
    EventMessage,
    OutputMessage,
    StatusMessage,
    events_subject,
    execution_inbox_prefix,
    input_subject,
    output_subject,
    status_subject,
)

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.js.client import JetStreamContext

__all__ = ["EVENT_TYPES", "INPUT_STREAM", "ExecutionTransport"]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _inbox_prefix() -> str:
    """Inside an execution (``EXECUTION_ID`` set), replies come under the execution's own prefix."""
    execution_id = os.environ.get("EXECUTION_ID")
    return execution_inbox_prefix(execution_id) if execution_id else "_INBOX"


def _id(value: object) -> str | None:
    return None if value is None else str(value)


class ExecutionTransport:
    """A lazily connected JetStream client for one runner.

    Attributes:
        nats_url: The server URL, or a cluster's comma-separated URLs (``NATS_URL`` by default).
        credentials: The text of a NATS credentials file (``NATS_CREDENTIALS`` by default), or empty.
        fetch_timeout_seconds: How long :meth:`fetch_input` waits for the input message.
    """

    def __init__(
        self,
        nats_url: str | None = None,
        *,
        credentials: str | None = None,
        fetch_timeout_seconds: float = 30.0,
    ) -> None:
        self.nats_url = nats_url or os.environ.get("NATS_URL", "")
        self.credentials = credentials or os.environ.get(NATS_CREDENTIALS_VARIABLE, "")
        self.fetch_timeout_seconds = fetch_timeout_seconds
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None

    async def _jetstream(self) -> JetStreamContext:
        if self._js is not None and self._nc is not None and self._nc.is_connected:
            return self._js
        if not self.nats_url:
            raise ConfigurationError.missing("NATS_URL", "nats_url")
        try:
            import nats
        except ImportError:
            raise ConfigurationError(
                f"the NATS execution transport needs the nats-py package: {install_hint('nats')}",
                code="missing_dependency",
            ) from None
        from nats.aio.client import RawCredentials

        credentials = RawCredentials(self.credentials) if self.credentials else None
        try:
            self._nc = await nats.connect(  # pyright: ignore[reportUnknownMemberType]  (nats-py leaves **options unannotated)
                [url.strip() for url in self.nats_url.split(",") if url.strip()],
                connect_timeout=5,
                max_reconnect_attempts=3,
                inbox_prefix=_inbox_prefix(),
                user_credentials=credentials,
            )
        except Exception as exc:
            raise PlatformClientError(f"cannot connect to NATS at {self.nats_url}: {exc}") from exc
        self._js = self._nc.jetstream()  # pyright: ignore[reportUnknownMemberType]
        return self._js

    async def fetch_input(self, deployment_id: str | None, execution_id: str) -> dict[str, Any]:
        """Pull and ack the input message of ``exec.input.{execution_id}`` (DeliverPolicy.ALL).

        Raises:
            PlatformClientError: No input arrived within ``fetch_timeout_seconds``.
        """
        js = await self._jetstream()
        from nats.errors import TimeoutError as NatsTimeoutError
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        subject = input_subject(execution_id)
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT, filter_subject=subject
        )
        subscription = await js.pull_subscribe(subject, stream=INPUT_STREAM, config=config)
        try:
            messages = await subscription.fetch(1, timeout=self.fetch_timeout_seconds)
        except NatsTimeoutError as exc:
            raise PlatformClientError(
                f"no input for execution {execution_id} on {subject} within {self.fetch_timeout_seconds:g} s"
            ) from exc
        finally:
            await _quietly_unsubscribe(subscription)
        message = messages[0]
        await message.ack()
        return _decode_input(message.data, subject, deployment_id, execution_id)

    async def publish(self, subject: str, payload: dict[str, Any]) -> None:
        """Publish one JSON message with JetStream and wait for the stream's acknowledgement."""
        js = await self._jetstream()
        try:
            await js.publish(subject, json.dumps(payload, default=str).encode())
        except Exception as exc:
            raise PlatformClientError(f"JetStream publish to {subject} failed: {exc}") from exc

    async def push_output(
        self,
        deployment_id: str | None,
        execution_id: str,
        output: Any,
        *,
        usage: dict[str, Any] | None = None,
        messages: list[dict[str, Any]] | None = None,
        state: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Publish the execution output to ``exec.output.{execution_id}``."""
        payload: OutputMessage = {
            "execution_id": execution_id,
            "deployment_id": _id(deployment_id),
            "output": output,
            "usage": usage,
            "messages": messages,
            "state": state,
            "error": error,
            "timestamp": _now(),
        }
        await self.publish(output_subject(execution_id), dict(payload))

    async def push_event(
        self, deployment_id: str | None, execution_id: str, event_type: str, event_data: dict[str, Any]
    ) -> None:
        """Publish one streaming event to ``exec.events.{execution_id}``.

        Raises:
            FlowSDKError: ``event_type`` is not message, chunk, tool_call, done or error.
        """
        if event_type not in EVENT_TYPES:
            raise FlowSDKError(f"event_type must be one of {sorted(EVENT_TYPES)}, got {event_type!r}")
        payload: EventMessage = {
            "execution_id": execution_id,
            "deployment_id": _id(deployment_id),
            "event_type": event_type,
            "event_data": event_data,
            "timestamp": _now(),
        }
        await self.publish(events_subject(execution_id), dict(payload))

    async def publish_status(self, execution_id: str, status: str) -> None:
        """Publish a status change to ``exec.status.{execution_id}``."""
        payload: StatusMessage = {"execution_id": execution_id, "status": status, "timestamp": _now()}
        await self.publish(status_subject(execution_id), dict(payload))

    async def close(self) -> None:
        """Drain and close the connection, if one was opened."""
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            await nc.drain()


async def _quietly_unsubscribe(subscription: Any) -> None:
    with contextlib.suppress(Exception):
        await subscription.unsubscribe()


def _decode_input(data: bytes, subject: str, deployment_id: str | None, execution_id: str) -> dict[str, Any]:
    try:
        decoded = json.loads(data)
    except ValueError as exc:
        raise PlatformClientError(f"input message on {subject} is not JSON: {exc}") from exc
    if not isinstance(decoded, dict):
        raise PlatformClientError(f"input message on {subject} is not a JSON object")
    message = cast("dict[str, Any]", decoded)
    message.setdefault("execution_id", execution_id)
    message.setdefault("deployment_id", deployment_id)
    for key in INPUT_KEYS:
        message.setdefault(key, None)
    return message
