"""``flow.conversations``: stored agent conversations."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator

from flow_sdk._errors import FlowSDKError
from flow_sdk._generated.client.conversations import (
    build_get_conversation_request,
    build_list_conversations_request,
)
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.types import Conversation, ConversationSummary
from flow_sdk.namespaces._base import Namespace

__all__ = ["ConversationsNamespace"]


class ConversationsNamespace(Namespace):
    """List and retrieve agent conversations."""

    async def list(self, limit: int = 100, offset: int = 0) -> list[ConversationSummary]:
        """List conversations in the workspace (``GET .../conversations``)."""
        if limit < 1 or offset < 0:
            raise FlowSDKError(f"limit must be >= 1 and offset >= 0, got limit={limit}, offset={offset}")
        org_id, workspace_id = self._flow._workspace()
        return await self._send(
            build_list_conversations_request(org_id, workspace_id, limit=limit, offset=offset)
        )

    def iter(self, *, page_size: int = 100) -> AsyncIterator[ConversationSummary]:
        """Every conversation of the workspace, newest first, fetched a page at a time.

        Example::

            async for conversation in flow.conversations.iter():
                print(conversation["id"])
        """
        org_id, workspace_id = self._flow._workspace()

        def page(cursor: str | None) -> ApiRequest[builtins.list[ConversationSummary]]:
            return build_list_conversations_request(org_id, workspace_id, limit=page_size, cursor=cursor)

        return self._pages(page)

    async def get(self, conversation_id: str) -> Conversation:
        """Retrieve one conversation with its messages (``GET .../conversations/{id}``)."""
        if not conversation_id:
            raise FlowSDKError("conversation_id must not be empty")
        org_id, workspace_id = self._flow._workspace()
        return await self._send(build_get_conversation_request(org_id, workspace_id, str(conversation_id)))
