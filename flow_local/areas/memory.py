"""Semantic memory: content embedded through the gateway (offline provider by default), recalled by similarity."""

from __future__ import annotations

from typing import Any

import numpy as np

from flow_local._generated.models import (
    Memory,
    MemoryForget,
    MemoryForgetResult,
    MemoryNamespace,
    MemoryRecall,
    MemoryRecallResult,
    MemoryStore,
)
from flow_local._generated.routers.memory import MemoryOperations
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.db import from_json, to_json
from flow_local.gateway.backend import GatewayBackend
from flow_local.values import new_id, now_iso

EMBEDDING_MODEL = "offline/embed"
SCHEMA = [
    "CREATE TABLE memories (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, workspace_id TEXT NOT NULL,"
    " namespace TEXT NOT NULL, content TEXT NOT NULL, metadata TEXT, vec BLOB NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX memories_ns ON memories (org_id, workspace_id, namespace)",
]


class MemoryBackend(MemoryOperations[Call]):
    """Memories per workspace and namespace."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.db = platform.db
        self.db.migrate("memory", SCHEMA)

    async def _embed(self, text: str) -> np.ndarray:
        vectors = await self.platform.backend(GatewayBackend).embed(EMBEDDING_MODEL, [text])
        return np.asarray(vectors[0], dtype=np.float32)

    async def store(
        self, org_id: str, workspace_id: str, namespace: str, content: str, metadata: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Embed and store a memory."""
        vector = await self._embed(content)
        record = {
            "id": new_id(),
            "namespace": namespace,
            "content": content,
            "metadata": metadata,
            "created_at": now_iso(),
        }
        self.db.execute(
            "INSERT INTO memories (id, org_id, workspace_id, namespace, content, metadata, vec, created_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                record["id"],
                org_id,
                workspace_id,
                namespace,
                content,
                to_json(metadata),
                vector.tobytes(),
                record["created_at"],
            ),
        )
        return record

    async def recall(
        self,
        org_id: str,
        workspace_id: str,
        namespace: str,
        query: str,
        top_k: int,
        flt: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        """The most similar memories of a namespace, best first, with their cosine score."""
        rows = self.db.query(
            "SELECT id, namespace, content, metadata, vec, created_at FROM memories WHERE org_id=? AND workspace_id=? AND namespace=?",
            (org_id, workspace_id, namespace),
        )
        items = [dict(r) for r in rows]
        for item in items:
            item["metadata"] = from_json(item["metadata"])
        if flt:
            items = [i for i in items if all((i["metadata"] or {}).get(k) == v for k, v in flt.items())]
        if not items:
            return []
        query_vec = await self._embed(query)
        matrix = np.stack([np.frombuffer(i.pop("vec"), dtype=np.float32) for i in items])
        scores = matrix @ query_vec
        order = np.argsort(-scores)[:top_k]
        return [{**items[i], "score": float(scores[i])} for i in order]

    def forget(self, org_id: str, workspace_id: str, namespace: str, ids: list[str]) -> int:
        """Delete memories by id; return how many were deleted."""
        with self.db.transaction() as conn:
            return sum(
                conn.execute(
                    "DELETE FROM memories WHERE id=? AND org_id=? AND workspace_id=? AND namespace=?",
                    (i, org_id, workspace_id, namespace),
                ).rowcount
                for i in set(ids)
            )

    def namespaces(self, org_id: str, workspace_id: str) -> list[dict[str, Any]]:
        """Namespaces with their sizes."""
        rows = self.db.query(
            "SELECT namespace, COUNT(*) FROM memories WHERE org_id=? AND workspace_id=? GROUP BY namespace ORDER BY namespace",
            (org_id, workspace_id),
        )
        return [{"namespace": r[0], "count": r[1]} for r in rows]

    async def store_memory(self, call: Call, *, org_id: str, workspace_id: str, body: MemoryStore) -> Memory:
        """Embed and store one memory."""
        record = await self.store(org_id, workspace_id, body.namespace, body.content, body.metadata)
        return Memory.model_validate(record)

    async def recall_memories(
        self, call: Call, *, org_id: str, workspace_id: str, body: MemoryRecall
    ) -> MemoryRecallResult:
        """The memories closest to a query."""
        found = await self.recall(org_id, workspace_id, body.namespace, body.query, body.top_k, body.filter)
        return MemoryRecallResult.model_validate({"memories": found})

    async def forget_memories(
        self, call: Call, *, org_id: str, workspace_id: str, body: MemoryForget
    ) -> MemoryForgetResult:
        """Delete memories by id."""
        return MemoryForgetResult(
            forgotten=self.forget(org_id, workspace_id, body.namespace, body.vector_ids)
        )

    async def list_memory_namespaces(
        self, call: Call, *, org_id: str, workspace_id: str
    ) -> list[MemoryNamespace]:
        """Namespaces with their sizes."""
        return [MemoryNamespace.model_validate(n) for n in self.namespaces(org_id, workspace_id)]
