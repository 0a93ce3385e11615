"""``flow.vector``: vector indexes."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Sequence
from typing import Any

from flow_sdk._errors import FlowSDKError
from flow_sdk._generated.client.enums import DISTANCE_METRIC
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.client.vector import (
    build_create_vector_index_request,
    build_delete_vector_index_request,
    build_delete_vectors_request,
    build_get_vector_index_request,
    build_list_vector_indexes_request,
    build_search_vectors_request,
    build_upsert_vectors_request,
)
from flow_sdk._generated.types import (
    VectorDeleteResult,
    VectorIndex,
    VectorIndexCreate,
    VectorRecord,
    VectorSearch,
    VectorSearchResult,
    VectorUpsertResult,
)
from flow_sdk._pages import MAX_PAGE_SIZE
from flow_sdk._requests import checked_body, choose
from flow_sdk.namespaces._base import Namespace

__all__ = ["VectorNamespace"]


def _index(index_id: str) -> str:
    if not index_id:
        raise FlowSDKError("index_id must not be empty")
    return str(index_id)


class VectorNamespace(Namespace):
    """Create, fill, search and delete vector indexes."""

    async def create_index(self, name: str, dimensions: int, metric: str = "cosine") -> VectorIndex:
        """Create an index (``POST .../vector/indexes``)."""
        org_id, workspace_id = self._flow._workspace()
        body: VectorIndexCreate = {
            "name": name,
            "dimensions": dimensions,
            "metric": choose(metric, DISTANCE_METRIC, "metric"),
        }
        return await self._send(build_create_vector_index_request(org_id, workspace_id, body=body))

    async def get_index(self, index_id: str) -> VectorIndex:
        """Get an index (``GET .../vector/indexes/{id}``)."""
        org_id, workspace_id = self._flow._workspace()
        return await self._send(build_get_vector_index_request(org_id, workspace_id, _index(index_id)))

    async def list_indexes(self) -> list[VectorIndex]:
        """List indexes (``GET .../vector/indexes``).

        The platform answers a page at a time; this reads them all. :meth:`iter_indexes` reads them as
        needed.
        """
        return [item async for item in self.iter_indexes(page_size=MAX_PAGE_SIZE)]

    def iter_indexes(self, *, page_size: int = 100) -> AsyncIterator[VectorIndex]:
        """Every index of the workspace, oldest first, fetched a page at a time (``GET .../vector/indexes``).

        Example::

            async for index in flow.vector.iter_indexes():
                print(index["name"], index["count"])
        """
        org_id, workspace_id = self._flow._workspace()

        def page(cursor: str | None) -> ApiRequest[builtins.list[VectorIndex]]:
            return build_list_vector_indexes_request(org_id, workspace_id, limit=page_size, cursor=cursor)

        return self._pages(page)

    async def delete_index(self, index_id: str) -> None:
        """Delete an index and its vectors (``DELETE .../vector/indexes/{id}``)."""
        org_id, workspace_id = self._flow._workspace()
        await self._send(build_delete_vector_index_request(org_id, workspace_id, _index(index_id)))

    async def upsert(self, index_id: str, vectors: Sequence[VectorRecord]) -> VectorUpsertResult:
        """Insert or replace vectors (``POST .../vector/indexes/{id}/upsert``)."""
        org_id, workspace_id = self._flow._workspace()
        records = [checked_body(vector, VectorRecord) for vector in vectors]
        return await self._send(
            build_upsert_vectors_request(org_id, workspace_id, _index(index_id), body={"vectors": records})
        )

    async def search(
        self,
        index_id: str,
        query_embedding: list[float],
        top_k: int = 10,
        filter: dict[str, Any] | None = None,
        include_values: bool = False,
    ) -> VectorSearchResult:
        """Nearest-neighbour search (``POST .../vector/indexes/{id}/search``)."""
        if not query_embedding:
            raise FlowSDKError("query_embedding must be a non-empty list of floats")
        org_id, workspace_id = self._flow._workspace()
        body: VectorSearch = {
            "query_embedding": list(query_embedding),
            "top_k": top_k,
            "filter": filter,
            "include_values": include_values,
        }
        return await self._send(
            build_search_vectors_request(org_id, workspace_id, _index(index_id), body=body)
        )

    async def delete(self, index_id: str, ids: list[str]) -> VectorDeleteResult:
        """Delete vectors by id (``POST .../vector/indexes/{id}/delete``)."""
        org_id, workspace_id = self._flow._workspace()
        return await self._send(
            build_delete_vectors_request(org_id, workspace_id, _index(index_id), body={"ids": list(ids)})
        )
