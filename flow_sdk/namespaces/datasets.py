"""``flow.datasets``: structured and vector queries over platform datasets."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from typing import Any

from flow_sdk._errors import FlowSDKError
from flow_sdk._generated.client.datasets import (
    build_get_dataset_request,
    build_insert_dataset_rows_request,
    build_list_datasets_request,
    build_query_dataset_request,
    build_vector_query_dataset_request,
)
from flow_sdk._generated.client.enums import DISTANCE_METRIC
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.types import (
    Dataset,
    DatasetFilter,
    DatasetQuery,
    DatasetQueryResult,
    DatasetRowsInserted,
    DatasetVectorQuery,
    DatasetVectorQueryResult,
    JsonObject,
)
from flow_sdk._pages import MAX_PAGE_SIZE
from flow_sdk._requests import checked_body, choose
from flow_sdk.namespaces._base import Namespace

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
        body = checked_body(request or {}, DatasetQuery)
        return await self._send(
            build_query_dataset_request(org_id, workspace_id, _dataset_id(dataset_id), body=body)
        )

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
        body: DatasetVectorQuery = {
            "embedding": list(embedding),
            "vector_field": vector_field,
            "top_k": top_k,
            "distance_metric": choose(distance_metric, DISTANCE_METRIC, "distance_metric"),
            "fields": fields,
        }
        if filters is not None:
            body["filters"] = [checked_body(item, DatasetFilter) for item in filters]
        return await self._send(
            build_vector_query_dataset_request(org_id, workspace_id, _dataset_id(dataset_id), body=body)
        )

    async def insert_rows(self, dataset_id: str, rows: list[dict[str, Any]]) -> DatasetRowsInserted:
        """Insert rows into a dataset (``POST .../datasets/{id}/rows``)."""
        org_id, workspace_id = self._flow._workspace()
        records: list[JsonObject] = [checked_body(row, JsonObject) for row in rows]
        return await self._send(
            build_insert_dataset_rows_request(
                org_id, workspace_id, _dataset_id(dataset_id), body={"rows": records}
            )
        )

    async def list(self) -> list[Dataset]:
        """List the workspace's datasets (``GET .../datasets``).

        The platform answers a page at a time; this reads them all. :meth:`iter` reads them as needed.
        """
        return [item async for item in self.iter(page_size=MAX_PAGE_SIZE)]

    def iter(self, *, page_size: int = 100) -> AsyncIterator[Dataset]:
        """Every dataset of the workspace, oldest first, fetched a page at a time (``GET .../datasets``).

        Example::

            async for dataset in flow.datasets.iter():
                print(dataset["id"], dataset["row_count"])
        """
        org_id, workspace_id = self._flow._workspace()

        def page(cursor: str | None) -> ApiRequest[builtins.list[Dataset]]:
            return build_list_datasets_request(org_id, workspace_id, limit=page_size, cursor=cursor)

        return self._pages(page)

    async def get(self, dataset_id: str) -> Dataset:
        """Get one dataset's definition (``GET .../datasets/{id}``)."""
        org_id, workspace_id = self._flow._workspace()
        return await self._send(build_get_dataset_request(org_id, workspace_id, _dataset_id(dataset_id)))
