"""Semantic memory: content embedded through the gateway (offline provider by default), recalled by similarity."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request
from flow_server_models import Memory, MemoryForget, MemoryNamespace, MemoryRecall, MemoryStore

from flow_local.areas.tenants import check_workspace
from flow_local.auth import Principal, get_principal
from flow_local.core import Platform, platform_of
from flow_local.db import from_json, to_json
from flow_local.gateway.routes import GatewayBackend
from flow_local.values import new_id, now_iso

EMBEDDING_MODEL = "offline/embed"
SCHEMA = [
    "CREATE TABLE memories (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, workspace_id TEXT NOT NULL,"
    " namespace TEXT NOT NULL, content TEXT NOT NULL, metadata TEXT, vec BLOB NOT NULL, created_at TEXT NOT NULL)",
    "CREATE INDEX memories_ns ON memories (org_id, workspace_id, namespace)",
]


class MemoryBackend:
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


router = APIRouter(prefix="/api/v1/orgs/{org_id}/workspaces/{workspace_id}/memory", tags=["memory"])


def _memory(request: Request) -> MemoryBackend:
    return platform_of(request).backend(MemoryBackend)


@router.post("/store", status_code=201)
async def store_memory(
    org_id: str,
    workspace_id: str,
    body: MemoryStore,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../memory/store."""
    check_workspace(request, principal, org_id, workspace_id)
    record = await _memory(request).store(
        org_id, workspace_id, body.namespace or "default", body.content, body.metadata
    )
    return Memory(**record).model_dump(mode="json", exclude_unset=True)


@router.post("/recall")
async def recall_memories(
    org_id: str,
    workspace_id: str,
    body: MemoryRecall,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../memory/recall."""
    check_workspace(request, principal, org_id, workspace_id)
    found = await _memory(request).recall(
        org_id, workspace_id, body.namespace or "default", body.query, body.top_k or 5, body.filter
    )
    return {"memories": [Memory(**m).model_dump(mode="json") for m in found]}


@router.post("/forget")
async def forget_memories(
    org_id: str,
    workspace_id: str,
    body: MemoryForget,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../memory/forget."""
    check_workspace(request, principal, org_id, workspace_id)
    return {
        "forgotten": _memory(request).forget(
            org_id, workspace_id, body.namespace or "default", body.vector_ids
        )
    }


@router.get("/namespaces")
async def list_memory_namespaces(
    org_id: str, workspace_id: str, request: Request, principal: Principal = Depends(get_principal)
) -> list[dict[str, Any]]:
    """GET .../memory/namespaces."""
    check_workspace(request, principal, org_id, workspace_id)
    return [
        MemoryNamespace(**n).model_dump(mode="json")
        for n in _memory(request).namespaces(org_id, workspace_id)
    ]
