"""What the console shows, read through the SDK with the session's token (the API decides what it sees).

Sync :class:`~flow_sdk.CLIClient` calls run in a worker thread; :class:`~flow_sdk.FlowSDK` calls are
awaited. Both talk to this platform over loopback, exactly as any other client would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from flow_sdk import CLIClient, FlowConfig, FlowSDK
from flow_sdk._errors import PlatformNotFoundError
from flow_sdk._generated.client.auth import build_approve_cli_login_request_request
from flow_sdk._generated.client.executions import build_get_execution_input_request
from flow_sdk._generated.types import (
    Execution,
    ExecutionEvent,
    ExecutionInput,
    ExecutionResult,
    HostedServiceLogs,
    Workspace,
)

T = TypeVar("T")
TERMINAL = ("completed", "failed", "timeout", "cancelled")


class ConsoleData:
    """The API, as one logged-in user of one workspace sees it."""

    def __init__(self, url: str, token: str, org_id: str, workspace_id: str) -> None:
        self.url = url
        self.token = token
        self.org_id = org_id
        self.workspace_id = workspace_id
        config = FlowConfig(platform_url=url, access_token=token, org_id=org_id, workspace_id=workspace_id)
        self.cli = CLIClient(config)
        self.sdk = self._sdk()

    def _sdk(self) -> FlowSDK:
        return FlowSDK(
            org_id=self.org_id, workspace_id=self.workspace_id, auth_token=self.token, platform_url=self.url
        )

    async def use_default_workspace(self) -> None:
        """Switch to the org's workspace named ``default`` (else its first one)."""
        spaces = await self.workspaces()
        named = [ws for ws in spaces if ws.get("name") == "default"] or spaces
        self.workspace_id = str(named[0]["id"]) if named else ""
        self.cli.config.workspace_id = self.workspace_id
        await self.sdk.close()
        self.sdk = self._sdk()

    async def close(self) -> None:
        """Release both clients."""
        await asyncio.to_thread(self.cli.close)
        await self.sdk.close()

    async def _sync(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(call, *args, **kwargs)

    async def workspaces(self) -> list[Workspace]:
        """Workspaces of the org."""
        return await self._sync(self.cli.list_workspaces, self.org_id)

    async def executions(self, status: str | None, kind: str | None, limit: int = 100) -> list[Execution]:
        """Executions, newest first, by status (server-side) and kind (component type)."""
        found = await self._sync(self.cli.list_executions, limit=limit, status=status or None)
        return [item for item in found if not kind or item.get("component_type") == kind]

    async def execution(self, execution_id: str) -> Execution:
        """One execution's record."""
        return await self._sync(self.cli.get_execution, execution_id)

    async def input(self, execution_id: str) -> ExecutionInput:
        """The input the execution was submitted with."""
        request = build_get_execution_input_request(self.org_id, self.workspace_id, execution_id)
        return await self._sync(self.cli.send_request, request)

    async def result(self, execution_id: str) -> ExecutionResult:
        """The result envelope (status, output, error, stdout, stderr, usage) as it stands."""
        return await self._sync(self.cli.get_execution_result, execution_id)

    async def events(self, execution_id: str, after_seq: int, wait_seconds: float) -> list[ExecutionEvent]:
        """Events after ``after_seq``, held up to ``wait_seconds`` for new ones."""
        return await self._sync(
            self.cli.list_execution_events, execution_id, after_seq=after_seq, wait_seconds=wait_seconds
        )

    async def cancel(self, execution_id: str) -> Execution:
        """Ask the platform to cancel an execution."""
        return await self._sync(self.cli.cancel_execution, execution_id)

    async def services(self) -> list[dict[str, Any]]:
        """Hosted services with their versions."""
        found = []
        for service in await self._sync(self.cli.hosted_services.list):
            versions = await self._sync(self.cli.hosted_services.versions, str(service["id"]))
            found.append({**service, "versions": versions})
        return found

    async def service(self, service_id: str) -> dict[str, Any]:
        """A service with its versions and their health."""
        service = await self._sync(self.cli.hosted_services.get, service_id)
        versions = await self._sync(self.cli.hosted_services.versions, service_id)
        health = await self._sync(self.cli.hosted_services.health, service_id)
        return {**service, "versions": versions, "health": health}

    async def service_logs(self, service_id: str, tail: int = 200) -> HostedServiceLogs:
        """The last log lines of a service's newest version."""
        return await self._sync(self.cli.hosted_services.logs, service_id, tail=tail)

    async def objects(self, prefix: str) -> list[dict[str, Any]]:
        """Storage objects of the org under ``prefix``."""
        return [dict(item) for item in await self.sdk.storage.list(prefix=prefix)]

    async def vector_indexes(self) -> list[dict[str, Any]]:
        """Vector collections of the workspace."""
        return [dict(item) for item in await self.sdk.vector.list_indexes()]

    async def audit(self, limit: int = 200) -> list[dict[str, Any]]:
        """Audit events of the workspace, newest first."""
        return [dict(item) for item in await self.sdk.audit.list(limit=limit)]

    async def approve_login(self, user_code: str) -> bool:
        """Approve a pending CLI login for this user; False when no pending login has this code."""
        request = build_approve_cli_login_request_request(body={"user_code": user_code})
        try:
            await self._sync(self.cli.send_request, request)
        except PlatformNotFoundError:
            return False
        return True


def printed(events: list[ExecutionEvent], stream: str) -> str:
    """What a running execution printed on ``stream`` so far: the text of its ``message`` events."""
    texts = []
    for event in events:
        data = event.get("data") or {}
        if event.get("event_type") == "message" and data.get("stream") == stream:
            texts.append(str(data.get("text", "")))
    return "".join(texts)
