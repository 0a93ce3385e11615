"""``flow.memory``: semantic memory with automatic embedding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flow_sdk._requests import body_model
from flow_sdk.namespaces._base import Namespace

if TYPE_CHECKING:
    from flow_types import Memory, MemoryForgetResult, MemoryRecallResult

__all__ = ["MemoryNamespace"]


class MemoryNamespace(Namespace):
    """Store, recall and forget memories by namespace."""

    async def store(
        self, content: str, metadata: dict[str, Any] | None = None, namespace: str = "default"
    ) -> Memory:
        """Store one memory (``POST .../memory/store``)."""
        org_id, workspace_id = self._flow._workspace()
        body = body_model("MemoryStore", {"content": content, "metadata": metadata, "namespace": namespace})
        return cast("Memory", await self._call("memory", "store_memory", org_id, workspace_id, body=body))

    async def recall(
        self, query: str, top_k: int = 5, namespace: str = "default", filter: dict[str, Any] | None = None
    ) -> MemoryRecallResult:
        """Recall the memories closest to ``query`` (``POST .../memory/recall``)."""
        org_id, workspace_id = self._flow._workspace()
        body = body_model(
            "MemoryRecall", {"query": query, "top_k": top_k, "namespace": namespace, "filter": filter}
        )
        result = await self._call("memory", "recall_memories", org_id, workspace_id, body=body)
        return cast("MemoryRecallResult", result)

    async def forget(self, vector_ids: list[str], namespace: str = "default") -> MemoryForgetResult:
        """Forget memories by id (``POST .../memory/forget``)."""
        org_id, workspace_id = self._flow._workspace()
        body = body_model("MemoryForget", {"vector_ids": list(vector_ids), "namespace": namespace})
        result = await self._call("memory", "forget_memories", org_id, workspace_id, body=body)
        return cast("MemoryForgetResult", result)

    async def list_namespaces(self) -> list[Any]:
        """List memory namespaces (``GET .../memory/namespaces``)."""
        org_id, workspace_id = self._flow._workspace()
        return cast("list[Any]", await self._call("memory", "list_memory_namespaces", org_id, workspace_id))
