"""Datasets: rows stored as JSON, structured queries (filters, fields, order, limit/offset, total) and vector queries."""

from __future__ import annotations

from typing import Any

import numpy as np

from flow_local._generated.models import (
    Dataset,
    DatasetCreate,
    DatasetQuery,
    DatasetQueryResult,
    DatasetRowsInsert,
    DatasetRowsInserted,
    DatasetVectorQuery,
    DatasetVectorQueryResult,
)
from flow_local._generated.routers.datasets import DatasetsOperations
from flow_local.areas.datasets_sql import Fragment, field_value, matches, row_query
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.db import IntegrityError, Row, SqliteDatabase, from_json, to_json
from flow_local.errors import bad_request, conflict, not_found
from flow_local.paging import Keyset, announce, select_page
from flow_local.values import default_of, now_iso

SCHEMA = [
    "CREATE TABLE datasets (org_id TEXT NOT NULL, workspace_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,"
    " description TEXT, fields TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (org_id, workspace_id, id))",
    "CREATE TABLE dataset_rows (org_id TEXT NOT NULL, workspace_id TEXT NOT NULL, dataset_id TEXT NOT NULL,"
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL)",
    "CREATE INDEX dataset_rows_ds ON dataset_rows (org_id, workspace_id, dataset_id, seq)",
]
DATASETS_ORDER = Keyset("datasets", ("created_at", "id"))
"""Oldest first; the id breaks ties."""


def _checked(filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for i, f in enumerate(filters):
        if f["op"] == "in" and not isinstance(f["value"], list):
            raise bad_request("the 'in' operator needs a list value", f"filters.{i}.value")
    return filters


def _select(row: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return row if fields is None else {f: row.get(f) for f in fields}


def _scoped(org_id: str, workspace_id: str, dataset_id: str) -> Fragment:
    return Fragment("org_id=? AND workspace_id=? AND dataset_id=?", (org_id, workspace_id, dataset_id))


class DatasetsBackend(DatasetsOperations[Call]):
    """Datasets of workspaces."""

    def __init__(self, platform: Platform) -> None:
        self.db = platform.db
        self.db.migrate("datasets", SCHEMA)
        self._postgres = not isinstance(self.db, SqliteDatabase)

    def create(self, org_id: str, workspace_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Create a dataset (409 when the id exists)."""
        record = {
            "id": data["id"],
            "name": data.get("name") or data["id"],
            "description": data.get("description"),
            "fields": data.get("fields") or [],
            "created_at": now_iso(),
        }
        try:
            self.db.execute(
                "INSERT INTO datasets VALUES (?,?,?,?,?,?,?)",
                (
                    org_id,
                    workspace_id,
                    record["id"],
                    record["name"],
                    record["description"],
                    to_json(record["fields"]),
                    record["created_at"],
                ),
            )
        except IntegrityError as exc:
            raise conflict(f"dataset '{record['id']}' exists already") from exc
        return {**record, "row_count": 0}

    def get(self, org_id: str, workspace_id: str, dataset_id: str) -> dict[str, Any]:
        """A dataset with its row count (404 when absent)."""
        row = self.db.query_one(
            "SELECT * FROM datasets WHERE org_id=? AND workspace_id=? AND id=?",
            (org_id, workspace_id, dataset_id),
        )
        if row is None:
            raise not_found("dataset", dataset_id)
        return self._dataset(row)

    def _dataset(self, row: Row) -> dict[str, Any]:
        """A stored dataset with its row count, as the document's `Dataset`."""
        count = self.db.query_one(
            "SELECT COUNT(*) FROM dataset_rows WHERE org_id=? AND workspace_id=? AND dataset_id=?",
            (row["org_id"], row["workspace_id"], row["id"]),
        )
        return {
            "id": row["id"],
            "name": row["name"],
            "description": row["description"],
            "fields": from_json(row["fields"], []),
            "row_count": int(count[0]) if count else 0,
            "created_at": row["created_at"],
        }

    def datasets(
        self, org_id: str, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the datasets of a workspace, oldest first, and the cursor of the next page."""
        page = select_page(
            self.db,
            DATASETS_ORDER,
            "SELECT * FROM datasets WHERE org_id=? AND workspace_id=?",
            (org_id, workspace_id),
            limit=limit,
            cursor=cursor,
        )
        return [self._dataset(r) for r in page.rows], page.next_cursor

    def delete(self, org_id: str, workspace_id: str, dataset_id: str) -> None:
        """Delete a dataset and its rows."""
        self.get(org_id, workspace_id, dataset_id)
        with self.db.transaction() as conn:
            key = (org_id, workspace_id, dataset_id)
            conn.execute("DELETE FROM dataset_rows WHERE org_id=? AND workspace_id=? AND dataset_id=?", key)
            conn.execute("DELETE FROM datasets WHERE org_id=? AND workspace_id=? AND id=?", key)

    def insert(
        self, org_id: str, workspace_id: str, dataset_id: str, rows: list[dict[str, Any]]
    ) -> dict[str, int]:
        """Append rows (all or none)."""
        self.get(org_id, workspace_id, dataset_id)
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO dataset_rows (org_id, workspace_id, dataset_id, data) VALUES (?,?,?,?)",
                [(org_id, workspace_id, dataset_id, to_json(r)) for r in rows],
            )
        return {"inserted": len(rows), "row_count": self.get(org_id, workspace_id, dataset_id)["row_count"]}

    def _exists(self, org_id: str, workspace_id: str, dataset_id: str) -> None:
        found = self.db.query_one(
            "SELECT 1 FROM datasets WHERE org_id=? AND workspace_id=? AND id=?",
            (org_id, workspace_id, dataset_id),
        )
        if found is None:
            raise not_found("dataset", dataset_id)

    def _select_rows(
        self, where: Fragment, order: Fragment, page: tuple[int, int] | None = None
    ) -> list[Any]:
        """The ``data`` of the rows matching ``where`` in ``order`` (one page of them when given)."""
        sql = f"SELECT data FROM dataset_rows WHERE {where.sql} ORDER BY {order.sql}"
        params = where.params + order.params
        if page is not None:
            sql += " LIMIT ? OFFSET ?"
            params += page
        return [from_json(r[0]) for r in self.db.query(sql, params)]

    def query(self, org_id: str, workspace_id: str, dataset_id: str, q: dict[str, Any]) -> dict[str, Any]:
        """Filter, order, page and project rows; ``total`` counts matches before paging.

        Filters and ordering run in the database; only the page is read, unless a filter has no exact
        SQL form, in which case the rows that may match are read and checked here.
        """
        self._exists(org_id, workspace_id, dataset_id)
        filters = _checked(q.get("filters") or [])
        plan = row_query(self._postgres, filters, q.get("order_by"), bool(q.get("descending")))
        where = _scoped(org_id, workspace_id, dataset_id) + Fragment(" AND ") + plan.where
        offset, limit = q["offset"], q["limit"]
        fields = q.get("fields")
        if plan.exact:
            count = self.db.query_one(f"SELECT COUNT(*) FROM dataset_rows WHERE {where.sql}", where.params)
            page = self._select_rows(where, plan.order, (limit, offset))
            return {"rows": [_select(r, fields) for r in page], "total": int(count[0]) if count else 0}
        rows = [r for r in self._select_rows(where, plan.order) if matches(r, filters)]
        return {"rows": [_select(r, fields) for r in rows[offset : offset + limit]], "total": len(rows)}

    def vector_query(
        self, org_id: str, workspace_id: str, dataset_id: str, q: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The rows nearest to ``embedding`` by ``vector_field`` (rows filtered in the database first)."""
        self._exists(org_id, workspace_id, dataset_id)
        query = np.asarray(q["embedding"], dtype=np.float64)
        field = q["vector_field"]
        metric = q["distance_metric"] or default_of(DatasetVectorQuery, "distance_metric")
        filters = _checked(q.get("filters") or [])
        plan = row_query(self._postgres, filters, None, False)
        sized = field_value(self._postgres, field).array_of_length(query.size)
        where = _scoped(org_id, workspace_id, dataset_id) + Fragment(" AND ") + plan.where
        where = where + Fragment(" AND ") + sized
        rows = self._select_rows(where, plan.order)
        if not plan.exact:
            rows = [r for r in rows if matches(r, filters)]
        if not rows:
            return []
        matrix = np.asarray([r[field] for r in rows], dtype=np.float64)
        if metric == "euclidean":
            scores = np.linalg.norm(matrix - query, axis=1)
            order = np.argsort(scores, kind="stable")
        else:
            if metric == "cosine":
                norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
                scores = (matrix @ query) / np.where(norms == 0, 1.0, norms)
            else:
                scores = matrix @ query
            order = np.argsort(-scores, kind="stable")
        return [
            {"row": _select(rows[i], q.get("fields")), "score": float(scores[i])} for i in order[: q["top_k"]]
        ]

    async def list_datasets(
        self, call: Call, *, org_id: str, workspace_id: str, limit: int, cursor: str | None
    ) -> list[Dataset]:
        """Datasets of the workspace, oldest first, a page at a time."""
        items, next_cursor = self.datasets(org_id, workspace_id, limit, cursor)
        announce(call.answer_headers, next_cursor)
        return [Dataset.model_validate(d) for d in items]

    async def create_dataset(
        self, call: Call, *, org_id: str, workspace_id: str, body: DatasetCreate
    ) -> Dataset:
        """Create a dataset."""
        return Dataset.model_validate(self.create(org_id, workspace_id, body.model_dump(mode="json")))

    async def get_dataset(self, call: Call, *, org_id: str, workspace_id: str, dataset_id: str) -> Dataset:
        """One dataset with its row count."""
        return Dataset.model_validate(self.get(org_id, workspace_id, dataset_id))

    async def delete_dataset(self, call: Call, *, org_id: str, workspace_id: str, dataset_id: str) -> None:
        """Delete a dataset and its rows."""
        self.delete(org_id, workspace_id, dataset_id)

    async def insert_dataset_rows(
        self, call: Call, *, org_id: str, workspace_id: str, dataset_id: str, body: DatasetRowsInsert
    ) -> DatasetRowsInserted:
        """Append rows."""
        rows = body.model_dump(mode="json")["rows"]
        return DatasetRowsInserted.model_validate(self.insert(org_id, workspace_id, dataset_id, rows))

    async def query_dataset(
        self, call: Call, *, org_id: str, workspace_id: str, dataset_id: str, body: DatasetQuery
    ) -> DatasetQueryResult:
        """Filter, order, page and project rows."""
        result = self.query(org_id, workspace_id, dataset_id, body.model_dump(mode="json"))
        return DatasetQueryResult.model_validate(result)

    async def vector_query_dataset(
        self, call: Call, *, org_id: str, workspace_id: str, dataset_id: str, body: DatasetVectorQuery
    ) -> DatasetVectorQueryResult:
        """The rows nearest to an embedding."""
        results = self.vector_query(org_id, workspace_id, dataset_id, body.model_dump(mode="json"))
        return DatasetVectorQueryResult.model_validate({"results": results})
