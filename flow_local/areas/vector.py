"""Vector indexes: exact search over a contiguous float32 matrix per index, persisted in SQLite.

Vectors are loaded into memory on first use of an index; cosine indexes keep unit-normalised rows so
a search is one matrix-vector product and an ``argpartition``.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from flow_server_models import VectorDelete, VectorIndex, VectorIndexCreate, VectorSearch, VectorUpsert

from flow_local.areas.tenants import check_workspace
from flow_local.auth import Principal, get_principal
from flow_local.core import Platform, platform_of
from flow_local.db import from_json, to_json
from flow_local.errors import bad_request, conflict, not_found
from flow_local.values import new_id, now_iso

SCHEMA = [
    "CREATE TABLE vector_indexes (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, workspace_id TEXT NOT NULL,"
    " name TEXT NOT NULL, dimensions INTEGER NOT NULL, metric TEXT NOT NULL, created_at TEXT NOT NULL,"
    " UNIQUE (org_id, workspace_id, name))",
    "CREATE TABLE vector_items (index_id TEXT NOT NULL, id TEXT NOT NULL, vec BLOB NOT NULL, metadata TEXT,"
    " PRIMARY KEY (index_id, id))",
]


class MatrixIndex:
    """The in-memory rows of one index."""

    def __init__(self, dimensions: int, metric: str) -> None:
        self.dimensions = dimensions
        self.metric = metric
        self.matrix = np.zeros((0, dimensions), dtype=np.float32)
        self.size = 0
        self.ids: list[str] = []
        self.metadata: list[dict[str, Any] | None] = []
        self.raw: list[np.ndarray] = []
        self.positions: dict[str, int] = {}
        self.lock = threading.Lock()

    def _prepare(self, vector: np.ndarray) -> np.ndarray:
        if self.metric == "cosine":
            norm = float(np.linalg.norm(vector))
            return vector / norm if norm else vector
        return vector

    def put(self, item_id: str, vector: np.ndarray, metadata: dict[str, Any] | None) -> None:
        """Insert or replace one row."""
        row = self._prepare(vector)
        position = self.positions.get(item_id)
        if position is None:
            if self.size == self.matrix.shape[0]:
                grown = np.zeros((max(16, self.size * 2), self.dimensions), dtype=np.float32)
                grown[: self.size] = self.matrix[: self.size]
                self.matrix = grown
            position = self.size
            self.size += 1
            self.positions[item_id] = position
            self.ids.append(item_id)
            self.metadata.append(metadata)
            self.raw.append(vector)
        else:
            self.metadata[position] = metadata
            self.raw[position] = vector
        self.matrix[position] = row

    def remove(self, item_id: str) -> bool:
        """Delete one row (the last row moves into its place)."""
        position = self.positions.pop(item_id, None)
        if position is None:
            return False
        last = self.size - 1
        if position != last:
            moved = self.ids[last]
            self.matrix[position] = self.matrix[last]
            self.ids[position], self.metadata[position], self.raw[position] = (
                moved,
                self.metadata[last],
                self.raw[last],
            )
            self.positions[moved] = position
        self.ids.pop()
        self.metadata.pop()
        self.raw.pop()
        self.size -= 1
        return True

    def search(self, query: np.ndarray, top_k: int, flt: dict[str, Any] | None) -> list[tuple[int, float]]:
        """``(position, score)`` best first; cosine/dot scores are similarities, euclidean a distance."""
        if self.size == 0:
            return []
        rows = self.matrix[: self.size]
        if self.metric == "euclidean":
            scores = -np.sqrt(np.maximum(((rows - query) ** 2).sum(axis=1), 0.0))
        else:
            scores = rows @ self._prepare(query)
        if flt:
            mask = np.fromiter((_matches(m, flt) for m in self.metadata), dtype=bool, count=self.size)
            scores = np.where(mask, scores, -np.inf)
        k = min(top_k, self.size)
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        results = [(int(i), float(scores[i])) for i in best if np.isfinite(scores[i])]
        if self.metric == "euclidean":
            return [(i, -s) for i, s in results]
        return results


def _matches(metadata: dict[str, Any] | None, flt: dict[str, Any]) -> bool:
    meta = metadata or {}
    return all(meta.get(k) == v for k, v in flt.items())


class VectorBackend:
    """Vector indexes of workspaces."""

    def __init__(self, platform: Platform) -> None:
        self.db = platform.db
        self.db.migrate("vector", SCHEMA)
        self._loaded: dict[str, MatrixIndex] = {}
        self._lock = threading.Lock()

    def create(
        self, org_id: str, workspace_id: str, name: str, dimensions: int, metric: str
    ) -> dict[str, Any]:
        """Create an index (409 on a duplicate name)."""
        record = {
            "id": new_id(),
            "name": name,
            "dimensions": dimensions,
            "metric": metric,
            "created_at": now_iso(),
        }
        try:
            self.db.execute(
                "INSERT INTO vector_indexes (id, org_id, workspace_id, name, dimensions, metric, created_at) VALUES (?,?,?,?,?,?,?)",
                (record["id"], org_id, workspace_id, name, dimensions, metric, record["created_at"]),
            )
        except sqlite3.IntegrityError as exc:
            raise conflict(f"vector index '{name}' exists already") from exc
        return {**record, "count": 0}

    def get(self, org_id: str, workspace_id: str, index_id: str) -> dict[str, Any]:
        """An index with its vector count (404 when absent)."""
        row = self.db.query_one(
            "SELECT id, name, dimensions, metric, created_at FROM vector_indexes WHERE id=? AND org_id=? AND workspace_id=?",
            (index_id, org_id, workspace_id),
        )
        if row is None:
            raise not_found("vector index", index_id)
        return {**dict(row), "count": self._index(dict(row)).size}

    def list(self, org_id: str, workspace_id: str) -> list[dict[str, Any]]:
        """Indexes of a workspace."""
        rows = self.db.query(
            "SELECT id FROM vector_indexes WHERE org_id=? AND workspace_id=? ORDER BY created_at",
            (org_id, workspace_id),
        )
        return [self.get(org_id, workspace_id, r[0]) for r in rows]

    def drop(self, org_id: str, workspace_id: str, index_id: str) -> None:
        """Delete an index and its vectors."""
        self.get(org_id, workspace_id, index_id)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM vector_items WHERE index_id=?", (index_id,))
            conn.execute("DELETE FROM vector_indexes WHERE id=?", (index_id,))
        self._loaded.pop(index_id, None)

    def _index(self, record: dict[str, Any]) -> MatrixIndex:
        with self._lock:
            index = self._loaded.get(record["id"])
            if index is None:
                index = MatrixIndex(record["dimensions"], record["metric"])
                for row in self.db.query(
                    "SELECT id, vec, metadata FROM vector_items WHERE index_id=?", (record["id"],)
                ):
                    index.put(row[0], np.frombuffer(row[1], dtype=np.float32).copy(), from_json(row[2]))
                self._loaded[record["id"]] = index
            return index

    def upsert(
        self, org_id: str, workspace_id: str, index_id: str, vectors: list[dict[str, Any]]
    ) -> dict[str, int]:
        """Insert or replace vectors; all are checked before any is written."""
        record = self.get(org_id, workspace_id, index_id)
        arrays = []
        for i, item in enumerate(vectors):
            array = np.asarray(item["values"], dtype=np.float32)
            if array.shape != (record["dimensions"],):
                raise bad_request(
                    f"vector {i} has {array.size} values; the index has {record['dimensions']} dimensions",
                    f"vectors.{i}.values",
                )
            if not np.all(np.isfinite(array)):
                raise bad_request(
                    f"vector {i} holds a value that is not a finite number", f"vectors.{i}.values"
                )
            arrays.append(array)
        index = self._index(record)
        with index.lock:
            with self.db.transaction() as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO vector_items (index_id, id, vec, metadata) VALUES (?,?,?,?)",
                    [
                        (index_id, v["id"], a.tobytes(), to_json(v.get("metadata")))
                        for v, a in zip(vectors, arrays, strict=True)
                    ],
                )
            for item, array in zip(vectors, arrays, strict=True):
                index.put(item["id"], array, item.get("metadata"))
        return {"upserted": len(vectors), "count": index.size}

    def search(
        self,
        org_id: str,
        workspace_id: str,
        index_id: str,
        query: list[float],
        top_k: int,
        flt: dict[str, Any] | None,
        include_values: bool,
    ) -> list[dict[str, Any]]:
        """The nearest vectors."""
        record = self.get(org_id, workspace_id, index_id)
        array = np.asarray(query, dtype=np.float32)
        if array.shape != (record["dimensions"],):
            raise bad_request(
                f"query_embedding has {array.size} values; the index has {record['dimensions']} dimensions",
                "query_embedding",
            )
        if not np.all(np.isfinite(array)):
            raise bad_request("query_embedding holds a value that is not a finite number", "query_embedding")
        index = self._index(record)
        with index.lock:
            hits = index.search(array, top_k, flt)
            out = []
            for position, score in hits:
                match: dict[str, Any] = {
                    "id": index.ids[position],
                    "score": score,
                    "metadata": index.metadata[position],
                }
                if include_values:
                    match["values"] = index.raw[position].tolist()
                out.append(match)
        return out

    def delete(self, org_id: str, workspace_id: str, index_id: str, ids: list[str]) -> int:
        """Delete vectors by id; return how many existed."""
        record = self.get(org_id, workspace_id, index_id)
        index = self._index(record)
        with index.lock:
            with self.db.transaction() as conn:
                conn.executemany(
                    "DELETE FROM vector_items WHERE index_id=? AND id=?", [(index_id, i) for i in ids]
                )
            return sum(1 for i in set(ids) if index.remove(i))


router = APIRouter(prefix="/api/v1/orgs/{org_id}/workspaces/{workspace_id}/vector/indexes", tags=["vector"])


def _vector(request: Request) -> VectorBackend:
    return platform_of(request).backend(VectorBackend)


@router.get("")
async def list_vector_indexes(
    org_id: str, workspace_id: str, request: Request, principal: Principal = Depends(get_principal)
) -> list[dict[str, Any]]:
    """GET .../vector/indexes."""
    check_workspace(request, principal, org_id, workspace_id)
    return [VectorIndex(**i).model_dump(mode="json") for i in _vector(request).list(org_id, workspace_id)]


@router.post("", status_code=201)
async def create_vector_index(
    org_id: str,
    workspace_id: str,
    body: VectorIndexCreate,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../vector/indexes."""
    check_workspace(request, principal, org_id, workspace_id)
    metric = body.model_dump(mode="json").get("metric") or "cosine"
    return VectorIndex(
        **_vector(request).create(org_id, workspace_id, body.name, body.dimensions, metric)
    ).model_dump(mode="json")


@router.get("/{index_id}")
async def get_vector_index(
    org_id: str,
    workspace_id: str,
    index_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """GET .../vector/indexes/{index_id}."""
    check_workspace(request, principal, org_id, workspace_id)
    return VectorIndex(**_vector(request).get(org_id, workspace_id, index_id)).model_dump(mode="json")


@router.delete("/{index_id}", status_code=204)
async def delete_vector_index(
    org_id: str,
    workspace_id: str,
    index_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> Response:
    """DELETE .../vector/indexes/{index_id}."""
    check_workspace(request, principal, org_id, workspace_id)
    _vector(request).drop(org_id, workspace_id, index_id)
    return Response(status_code=204)


@router.post("/{index_id}/upsert")
async def upsert_vectors(
    org_id: str,
    workspace_id: str,
    index_id: str,
    body: VectorUpsert,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../vector/indexes/{index_id}/upsert."""
    check_workspace(request, principal, org_id, workspace_id)
    vectors = body.model_dump(mode="json")["vectors"]
    return _vector(request).upsert(org_id, workspace_id, index_id, vectors)


@router.post("/{index_id}/search")
async def search_vectors(
    org_id: str,
    workspace_id: str,
    index_id: str,
    body: VectorSearch,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../vector/indexes/{index_id}/search."""
    check_workspace(request, principal, org_id, workspace_id)
    matches = _vector(request).search(
        org_id,
        workspace_id,
        index_id,
        body.query_embedding,
        body.top_k or 10,
        body.filter,
        bool(body.include_values),
    )
    return {"matches": matches}


@router.post("/{index_id}/delete")
async def delete_vectors(
    org_id: str,
    workspace_id: str,
    index_id: str,
    body: VectorDelete,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../vector/indexes/{index_id}/delete."""
    check_workspace(request, principal, org_id, workspace_id)
    return {"deleted": _vector(request).delete(org_id, workspace_id, index_id, body.ids)}
