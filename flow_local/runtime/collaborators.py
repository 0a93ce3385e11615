"""What the execution engine needs from the platform's areas, handed to it by the wiring.

The engine runs executions; the areas (catalog, conversations, the executions API) call it. So that
the arrows point one way, the engine never imports an area: :mod:`flow_local.app` builds a
:class:`Collaborators` from the areas' functions and gives it to the engine when it creates it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

from flow_local.core import Platform

Record = dict[str, Any]


class ResolveSpec(Protocol):
    """The runnable spec of an execution's component (an ApiError naming what is wrong otherwise)."""

    def __call__(self, platform: Platform, record: Record) -> Record: ...


class FindComponent(Protocol):
    """A catalog component of a type in a workspace (404 when absent)."""

    def __call__(
        self, platform: Platform, org_id: str, workspace_id: str, component_type: str, component_id: str
    ) -> Record: ...


class SaveConversation(Protocol):
    """Store the messages of a completed agent execution as a conversation; its id."""

    def __call__(self, platform: Platform, record: Record, messages: list[Record]) -> str | None: ...


class SubmitChild(Protocol):
    """Check, store and start an execution on behalf of a parent (a workflow step, an agent's tool)."""

    def __call__(
        self,
        platform: Platform,
        org_id: str,
        workspace_id: str,
        submission: Record,
        *,
        parent_billing_txn_id: str | None,
        subject: str | None,
    ) -> Awaitable[Record]: ...


class GatewayChat(Protocol):
    """One chat completion through the platform's gateway (inline agents)."""

    def __call__(self, platform: Platform, request: Record) -> Awaitable[Record]: ...


@dataclass(frozen=True)
class Collaborators:
    """The areas' functions the execution engine calls."""

    resolve_spec: ResolveSpec
    find_component: FindComponent
    save_conversation: SaveConversation
    submit_child: SubmitChild
    chat: GatewayChat
