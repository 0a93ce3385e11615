"""``flow.vector``: vector indexes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flow_sdk._errors import FlowSDKError
from flow_sdk._requests import body_model
from flow_sdk.namespaces._base import Namespace

if TYPE_CHECKING:
    from flow_types import VectorDeleteResult, VectorIndex, VectorSearchResult, VectorUpsertResult

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
        body = body_model("VectorIndexCreate", {"name": name, "dimensions": dimensions, "metric": metric})
        return cast(
            "VectorIndex", await self._call("vector", "create_vector_index", org_id, workspace_id, body=body)
        )

    async def get_index(self, index_id: str) -> VectorIndex:
        """Get an index (``GET .../vector/indexes/{id}``)."""
        org_id, workspace_id = self._flow._workspace()
        return cast(
            "VectorIndex",
            await self._call("vector", "get_vector_index", org_id, workspace_id, _index(index_id)),
        )

    async def list_indexes(self) -> list[VectorIndex]:
        """List indexes (``GET .../vector/indexes``)."""
        org_id, workspace_id = self._flow._workspace()
        return cast(
            "list[VectorIndex]", await self._call("vector", "list_vector_indexes", org_id, workspace_id)
        )

    async def delete_index(self, index_id: str) -> None:
        """Delete an index and its vectors (``DELETE .../vector/indexes/{id}``)."""
        org_id, workspace_id = self._flow._workspace()
        await self._call("vector", "delete_vector_index", org_id, workspace_id, _index(index_id))

    async def upsert(self, index_id: str, vectors: list[dict[str, Any]]) -> VectorUpsertResult:
        """Insert or replace vectors (``POST .../vector/indexes/{id}/upsert``)."""
        org_id, workspace_id = self._flow._workspace()
        body = body_model("VectorUpsert", {"vectors": list(vectors)})
        result = await self._call(
            "vector", "upsert_vectors", org_id, workspace_id, _index(index_id), body=body
        )
        return cast("VectorUpsertResult", result)

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
        body = body_model(
            "VectorSearch",
            {
                "query_embedding": list(query_embedding),
                "top_k": top_k,
                "filter": filter,
                "include_values": include_values,
            },
        )
        result = await self._call(
            "vector", "search_vectors", org_id, workspace_id, _index(index_id), body=body
        )
        return cast("VectorSearchResult", result)

    async def delete(self, index_id: str, ids: list[str]) -> VectorDeleteResult:
        """Delete vectors by id (``POST .../vector/indexes/{id}/delete``)."""
        org_id, workspace_id = self._flow._workspace()
        body = body_model("VectorDelete", {"ids": list(ids)})
        result = await self._call(
            "vector", "delete_vectors", org_id, workspace_id, _index(index_id), body=body
        )
        return cast("VectorDeleteResult", result)
