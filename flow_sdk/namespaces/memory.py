"""``flow.memory``: semantic memory with automatic embedding."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from flow_sdk._generated.client.memory import (
    build_forget_memories_request,
    build_list_memory_namespaces_request,
    build_recall_memories_request,
    build_store_memory_request,
)
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.types import (
    Memory,
    MemoryForget,
    MemoryForgetResult,
    MemoryRecall,
    MemoryRecallResult,
    MemoryStore,
)
from flow_sdk._generated.types import MemoryNamespace as MemoryNamespaceInfo
from flow_sdk._pages import MAX_PAGE_SIZE
from flow_sdk.namespaces._base import Namespace

__all__ = ["MemoryNamespace"]


class MemoryNamespace(Namespace):
    """Store, recall and forget memories by namespace."""

    async def store(
        self, content: str, metadata: dict[str, Any] | None = None, namespace: str = "default"
    ) -> Memory:
        """Store one memory (``POST .../memory/store``)."""
        org_id, workspace_id = self._flow._workspace()
        body: MemoryStore = {"content": content, "metadata": metadata, "namespace": namespace}
        return await self._send(build_store_memory_request(org_id, workspace_id, body=body))

    async def recall(
        self, query: str, top_k: int = 5, namespace: str = "default", filter: dict[str, Any] | None = None
    ) -> MemoryRecallResult:
        """Recall the memories closest to ``query`` (``POST .../memory/recall``)."""
        org_id, workspace_id = self._flow._workspace()
        body: MemoryRecall = {"query": query, "top_k": top_k, "namespace": namespace, "filter": filter}
        return await self._send(build_recall_memories_request(org_id, workspace_id, body=body))

    async def forget(self, vector_ids: list[str], namespace: str = "default") -> MemoryForgetResult:
        """Forget memories by id (``POST .../memory/forget``)."""
        org_id, workspace_id = self._flow._workspace()
        body: MemoryForget = {"vector_ids": list(vector_ids), "namespace": namespace}
        return await self._send(build_forget_memories_request(org_id, workspace_id, body=body))

    async def list_namespaces(self) -> list[MemoryNamespaceInfo]:
        """List memory namespaces with their sizes (``GET .../memory/namespaces``).

        The platform answers a page at a time; this reads them all. :meth:`iter_namespaces` reads them as
        needed.
        """
        return [item async for item in self.iter_namespaces(page_size=MAX_PAGE_SIZE)]

    def iter_namespaces(self, *, page_size: int = 100) -> AsyncIterator[MemoryNamespaceInfo]:
        """Every memory namespace with its size, in name order, fetched a page at a time
        (``GET .../memory/namespaces``).

        Example::

            async for namespace in flow.memory.iter_namespaces():
                print(namespace["namespace"], namespace["count"])
        """
        org_id, workspace_id = self._flow._workspace()

        def page(cursor: str | None) -> ApiRequest[list[MemoryNamespaceInfo]]:
            return build_list_memory_namespaces_request(org_id, workspace_id, limit=page_size, cursor=cursor)

        return self._pages(page)
