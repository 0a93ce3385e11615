"""Semantic memory: content embedded through the gateway (offline provider by default), recalled by similarity.

On SQLite a recall scores every memory of the namespace in numpy; on PostgreSQL the embeddings also sit
in a pgvector column (``memory_embeddings``) and the database picks the nearest, which are then scored
the same way, so both give the same answers.
"""

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
from flow_local.areas.datasets_sql import Fragment, json_equal
from flow_local.areas.vector_pgvector import distance, metadata_filter, vector_literal
from flow_local.areas.vector_scoring import EXTRA_CANDIDATES
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.db import SqliteDatabase, from_json, to_json
from flow_local.gateway.backend import GatewayBackend
from flow_local.paging import Keyset, announce, select_page
from flow_local.values import new_id, now_iso

EMBEDDING_MODEL = "offline/embed"
SCORE_METRIC = "dot"
"""Recall scores are inner products of the (unit-length) embeddings: their cosine similarity."""
PGVECTOR_SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS vector",
    "CREATE TABLE memory_embeddings (id TEXT PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,"
    " embedding vector NOT NULL)",
]
PGVECTOR_TABLES = ("memory_embeddings",)
"""Tables only PostgreSQL has."""
SCHEMA = [
    "CREATE TABLE memories (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, workspace_id TEXT NOT NULL,"
    " namespace TEXT NOT NULL, content TEXT NOT NULL, metadata TEXT, vec BLOB NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX memories_ns ON memories (org_id, workspace_id, namespace)",
]
NAMESPACES_ORDER = Keyset("memory_namespaces", ("namespace",))
"""Name order; the sizes are grouped per namespace, so a name appears once."""


class MemoryBackend(MemoryOperations[Call]):
    """Memories per workspace and namespace."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.db = platform.db
        self.db.migrate("memory", SCHEMA)
        self._pgvector = not isinstance(self.db, SqliteDatabase)
        if self._pgvector:
            self.db.migrate("memory_pgvector", PGVECTOR_SCHEMA)
            self._embed_stored()

    def _embed_stored(self) -> None:
        """Give memories stored before the pgvector table existed their row in it."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT m.id, m.vec FROM memories m"
                " WHERE NOT EXISTS (SELECT 1 FROM memory_embeddings e WHERE e.id = m.id)"
            ).fetchall()
            conn.executemany(
                "INSERT INTO memory_embeddings (id, embedding) VALUES (?, ?::vector)",
                [(row[0], vector_literal(np.frombuffer(bytes(row[1]), dtype=np.float32))) for row in rows],
            )

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
        with self.db.transaction() as conn:
            conn.execute(
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
            if self._pgvector:
                conn.execute(
                    "INSERT INTO memory_embeddings (id, embedding) VALUES (?, ?::vector)",
                    (record["id"], vector_literal(vector)),
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
        query_vec = await self._embed(query)
        if self._pgvector:
            items = self._nearest(org_id, workspace_id, namespace, query_vec, top_k, flt)
        else:
            items = self._all(org_id, workspace_id, namespace, flt)
        if not items:
            return []
        matrix = np.stack([np.frombuffer(i.pop("vec"), dtype=np.float32) for i in items])
        scores = matrix @ query_vec
        order = np.argsort(-scores)[:top_k]
        return [{**items[i], "score": float(scores[i])} for i in order]

    def _all(
        self, org_id: str, workspace_id: str, namespace: str, flt: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """Every memory of the namespace whose metadata matches ``flt`` (SQLite)."""
        rows = self.db.query(
            "SELECT id, namespace, content, metadata, vec, created_at FROM memories WHERE org_id=? AND workspace_id=? AND namespace=?",
            (org_id, workspace_id, namespace),
        )
        items = [dict(r) for r in rows]
        for item in items:
            item["metadata"] = from_json(item["metadata"])
        if flt:
            items = [
                i for i in items if all(json_equal((i["metadata"] or {}).get(k), v) for k, v in flt.items())
            ]
        return items

    def _nearest(
        self,
        org_id: str,
        workspace_id: str,
        namespace: str,
        query: np.ndarray,
        top_k: int,
        flt: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        """The memories pgvector finds nearest (a few more than ``top_k``), filtered in SQL."""
        where = Fragment(
            "m.org_id = ? AND m.workspace_id = ? AND m.namespace = ?", (org_id, workspace_id, namespace)
        ) + metadata_filter(flt, "m.metadata")
        nearest = distance(SCORE_METRIC, "e.embedding", query)
        rows = self.db.query(
            "SELECT m.id, m.namespace, m.content, m.metadata, m.vec, m.created_at FROM memories m"
            f" JOIN memory_embeddings e ON e.id = m.id WHERE {where.sql} ORDER BY {nearest.sql} + 0, m.id LIMIT ?",
            (*where.params, *nearest.params, top_k + EXTRA_CANDIDATES),
        )
        items = [dict(r) for r in rows]
        for item in items:
            item["metadata"] = from_json(item["metadata"])
            item["vec"] = bytes(item["vec"])
        return items

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

    def namespaces(
        self, org_id: str, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the namespaces with their sizes, in name order, and the cursor of the next page."""
        page = select_page(
            self.db,
            NAMESPACES_ORDER,
            "SELECT namespace, entries FROM (SELECT namespace, COUNT(*) AS entries FROM memories"
            " WHERE org_id=? AND workspace_id=? GROUP BY namespace) AS sizes WHERE TRUE",
            (org_id, workspace_id),
            limit=limit,
            cursor=cursor,
        )
        return [{"namespace": r["namespace"], "count": r["entries"]} for r in page.rows], page.next_cursor

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
        self, call: Call, *, org_id: str, workspace_id: str, limit: int, cursor: str | None
    ) -> list[MemoryNamespace]:
        """Namespaces with their sizes, in name order, a page at a time."""
        items, next_cursor = self.namespaces(org_id, workspace_id, limit, cursor)
        announce(call.answer_headers, next_cursor)
        return [MemoryNamespace.model_validate(n) for n in items]
