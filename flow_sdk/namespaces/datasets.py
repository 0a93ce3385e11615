"""``flow.datasets``: structured and vector queries over platform datasets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flow_sdk._errors import FlowSDKError
from flow_sdk._requests import body_model
from flow_sdk.namespaces._base import Namespace

if TYPE_CHECKING:
    from flow_types import Dataset, DatasetQueryResult, DatasetRowsInserted, DatasetVectorQueryResult

__all__ = ["DatasetsNamespace"]


def _dataset_id(dataset_id: str) -> str:
    if not dataset_id:
        raise FlowSDKError("dataset_id must not be empty")
    return str(dataset_id)


class DatasetsNamespace(Namespace):
    """Query platform datasets."""

    async def query(self, dataset_id: str, request: dict[str, Any] | None = None) -> DatasetQueryResult:
        """Run a structured query: fields, filters, order, limit (``POST .../datasets/{id}/query``)."""
        org_id, workspace_id = self._flow._workspace()
        body = body_model("DatasetQuery", dict(request or {}))
        result = await self._call(
            "datasets", "query_dataset", org_id, workspace_id, _dataset_id(dataset_id), body=body
        )
        return cast("DatasetQueryResult", result)

    async def vector_query(
        self,
        dataset_id: str,
        embedding: list[float],
        vector_field: str,
        top_k: int = 10,
        distance_metric: str = "cosine",
        fields: list[str] | None = None,
        filters: list[dict[str, Any]] | None = None,
    ) -> DatasetVectorQueryResult:
        """Vector similarity search over a dataset field (``POST .../datasets/{id}/vector-query``)."""
        if not embedding:
            raise FlowSDKError("embedding must be a non-empty list of floats")
        org_id, workspace_id = self._flow._workspace()
        body = body_model(
            "DatasetVectorQuery",
            {
                "embedding": list(embedding),
                "vector_field": vector_field,
                "top_k": top_k,
                "distance_metric": distance_metric,
                "fields": fields,
                "filters": filters,
            },
        )
        result = await self._call(
            "datasets", "vector_query_dataset", org_id, workspace_id, _dataset_id(dataset_id), body=body
        )
        return cast("DatasetVectorQueryResult", result)

    async def insert_rows(self, dataset_id: str, rows: list[dict[str, Any]]) -> DatasetRowsInserted:
        """Insert rows into a dataset (``POST .../datasets/{id}/rows``)."""
        org_id, workspace_id = self._flow._workspace()
        body = body_model("DatasetRowsInsert", {"rows": list(rows)})
        result = await self._call(
            "datasets", "insert_dataset_rows", org_id, workspace_id, _dataset_id(dataset_id), body=body
        )
        return cast("DatasetRowsInserted", result)

    async def list(self) -> list[Dataset]:
        """List the workspace's datasets (``GET .../datasets``)."""
        org_id, workspace_id = self._flow._workspace()
        return cast("list[Dataset]", await self._call("datasets", "list_datasets", org_id, workspace_id))

    async def get(self, dataset_id: str) -> Dataset:
        """Get one dataset's definition (``GET .../datasets/{id}``)."""
        org_id, workspace_id = self._flow._workspace()
        result = await self._call("datasets", "get_dataset", org_id, workspace_id, _dataset_id(dataset_id))
        return cast("Dataset", result)
