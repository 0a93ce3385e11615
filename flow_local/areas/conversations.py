"""Agent conversations: listed and read through the API, written by the platform (executions)."""

from __future__ import annotations

from typing import Any

from flow_local._generated.models import Conversation, ConversationSummary
from flow_local._generated.routers._support import NEXT_CURSOR_HEADER
from flow_local._generated.routers.conversations import ConversationsOperations
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.db import from_json, to_json
from flow_local.errors import not_found
from flow_local.paging import Keyset, select_page
from flow_local.values import new_id, now_iso

SCHEMA = [
    "CREATE TABLE conversations (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, workspace_id TEXT NOT NULL,"
    " agent_id TEXT, execution_id TEXT, title TEXT, messages TEXT NOT NULL, created_at TEXT NOT NULL,"
    " updated_at TEXT NOT NULL)",
    "CREATE INDEX conversations_ws ON conversations (org_id, workspace_id, created_at)",
]

CONVERSATIONS_ORDER = Keyset("conversations", ("created_at", "id"), descending=True)
"""Newest first; the id breaks ties."""


class ConversationsBackend(ConversationsOperations[Call]):
    """Stored conversations; :meth:`save` is the write entry point for other areas."""

    def __init__(self, platform: Platform) -> None:
        self.db = platform.db
        self.db.migrate("conversations", SCHEMA)

    def save(
        self,
        org_id: str,
        workspace_id: str,
        messages: list[dict[str, Any]],
        *,
        conversation_id: str | None = None,
        agent_id: str | None = None,
        execution_id: str | None = None,
        title: str | None = None,
    ) -> str:
        """Create a conversation, or append ``messages`` to an existing one of this workspace; return its id."""
        now = now_iso()
        with self.db.transaction() as conn:
            row = None
            if conversation_id is not None:
                row = conn.execute(
                    "SELECT messages FROM conversations WHERE id=? AND org_id=? AND workspace_id=?",
                    (conversation_id, org_id, workspace_id),
                ).fetchone()
            if row is None:
                new = conversation_id or new_id()
                first_user = next((m.get("content") for m in messages if m.get("role") == "user"), None)
                conn.execute(
                    "INSERT INTO conversations VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        new,
                        org_id,
                        workspace_id,
                        agent_id,
                        execution_id,
                        title or _title(first_user),
                        to_json(messages),
                        now,
                        now,
                    ),
                )
                return new
            combined = from_json(row[0], []) + list(messages)
            conn.execute(
                "UPDATE conversations SET messages=?, updated_at=?, execution_id=COALESCE(?, execution_id) WHERE id=?",
                (to_json(combined), now, execution_id, conversation_id),
            )
            return str(conversation_id)

    def get(self, org_id: str, workspace_id: str, conversation_id: str) -> dict[str, Any]:
        """A conversation with its messages (404 when absent)."""
        row = self.db.query_one(
            "SELECT * FROM conversations WHERE id=? AND org_id=? AND workspace_id=?",
            (conversation_id, org_id, workspace_id),
        )
        if row is None:
            raise not_found("conversation", conversation_id)
        return _record(dict(row))

    async def list_conversations(
        self, call: Call, *, org_id: str, workspace_id: str, limit: int, offset: int, cursor: str | None
    ) -> list[ConversationSummary]:
        """Conversations of the workspace, newest first, without their messages, a page at a time."""
        page = select_page(
            self.db,
            CONVERSATIONS_ORDER,
            "SELECT * FROM conversations WHERE org_id=? AND workspace_id=?",
            (org_id, workspace_id),
            limit=limit,
            cursor=cursor,
            offset=offset,
        )
        if page.next_cursor is not None:
            call.answer_headers[NEXT_CURSOR_HEADER] = page.next_cursor
        return [ConversationSummary.model_validate(_record(dict(r))) for r in page.rows]

    async def get_conversation(
        self, call: Call, *, org_id: str, workspace_id: str, conversation_id: str
    ) -> Conversation:
        """One conversation with its messages."""
        return Conversation.model_validate(self.get(org_id, workspace_id, conversation_id))


def _title(text: Any) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip()[:80]


def _record(row: dict[str, Any]) -> dict[str, Any]:
    messages = from_json(row.pop("messages"), [])
    row.pop("org_id")
    row.pop("workspace_id")
    return {**row, "messages": messages, "message_count": len(messages)}
