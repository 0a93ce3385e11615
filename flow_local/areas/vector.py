"""Vector indexes: exact search over a contiguous float32 matrix per index (SQLite), or in pgvector.

On PostgreSQL the vectors live in a pgvector column and are searched there
(:mod:`flow_local.areas.vector_pgvector`), so every API replica sees every write. On SQLite vectors
are loaded into memory on first use of an index. Cosine indexes keep unit-normalised rows,
euclidean indexes keep each vector's squared norm, so a search is one float32 matrix-vector product
over the vectors stored as columns (one BLAS call, threaded by the BLAS itself: splitting it into
blocks on threads of our own made those threads and the BLAS's fight over the cores), a selection of a few more candidates than asked,
and an exact float64 re-scoring of those candidates from the stored vectors, so answers equal a
float64 brute force.
Index records are cached after their first read (they never change), and the search handler parses
its body with the model's JSON validator and encodes its answer once.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import numpy as np

from flow_local._generated.models import (
    VectorDelete,
    VectorDeleteResult,
    VectorIndex,
    VectorIndexCreate,
    VectorSearch,
    VectorSearchResult,
    VectorUpsert,
    VectorUpsertResult,
)
from flow_local._generated.routers.vector import VectorOperations
from flow_local.areas.datasets_sql import json_equal
from flow_local.areas.vector_pgvector import PgVectorStore
from flow_local.areas.vector_precheck import first_wrong_size
from flow_local.areas.vector_scoring import EXTRA_CANDIDATES, exact_scores
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.db import Database, IntegrityError, SqliteDatabase, from_json, to_json
from flow_local.errors import bad_request, conflict, not_found
from flow_local.paging import Keyset, announce, select_page
from flow_local.values import default_of, new_id, now_iso

SCHEMA = [
    "CREATE TABLE vector_indexes (id TEXT PRIMARY KEY, org_id TEXT NOT NULL, workspace_id TEXT NOT NULL,"
    " name TEXT NOT NULL, dimensions INTEGER NOT NULL, metric TEXT NOT NULL, created_at TEXT NOT NULL,"
    " UNIQUE (org_id, workspace_id, name))",
    "CREATE TABLE vector_items (index_id TEXT NOT NULL, id TEXT NOT NULL, vec BLOB NOT NULL, metadata TEXT,"
    " PRIMARY KEY (index_id, id))",
    "ALTER TABLE vector_indexes ADD COLUMN search TEXT",
]
INDEXES_ORDER = Keyset("vector_indexes", ("created_at", "id"))
"""Oldest first; the id breaks ties."""
HNSW_MAX_DIMENSIONS = 2000
"""The most dimensions pgvector's HNSW graph indexes."""

PRECHECK_MIN_BYTES = 1024 * 1024
"""Upsert bodies from this size on are checked vector by vector before they are decoded whole."""
SAMPLE_STRIDE = 64
"""One score in this many is sampled to find a threshold that only a few scores reach."""


def candidate_positions(scores: np.ndarray, wanted: int) -> np.ndarray:
    """Positions that include those of the ``wanted`` highest scores, in no particular order.

    A full ``argpartition`` of a big index costs more than the rest of a search but its product. The
    ``wanted``-th highest score of a strided sample is at most the ``wanted``-th highest of all scores,
    so the scores reaching it include the ``wanted`` highest, and only those few are partitioned.
    """
    if wanted * SAMPLE_STRIDE <= scores.size:
        threshold = np.partition(scores[::SAMPLE_STRIDE], -wanted)[-wanted]
        reaching = np.flatnonzero(scores >= threshold)  # none when the threshold is NaN
        if reaching.size >= wanted:
            return reaching[np.argpartition(scores[reaching], -wanted)[-wanted:]]
    if wanted < scores.size:
        ranked = np.where(np.isnan(scores), -np.inf, scores)  # an overflowed score ranks last, not first
        return np.argpartition(ranked, -wanted)[-wanted:]
    return np.arange(scores.size)


class MatrixIndex:
    """The in-memory vectors of one index, one column each.

    Columns rather than rows: ``query @ columns`` (BLAS's plain matrix-vector kernel streaming each
    dimension across all vectors) runs about one and a half times as fast here as ``rows @ query`` (a dot
    product per row) over the same float32 values.
    """

    def __init__(self, dimensions: int, metric: str) -> None:
        self.dimensions = dimensions
        self.metric = metric
        self.columns = np.zeros((dimensions, 0), dtype=np.float32)
        self.sq_norms = np.zeros(0, dtype=np.float32)
        self.size = 0
        self.ids: list[str] = []
        self.metadata: list[dict[str, Any] | None] = []
        self.raw: list[np.ndarray] = []
        self.positions: dict[str, int] = {}
        self.added: list[int] = []
        """Each row's insertion number (kept when it is replaced): ties are broken by it."""
        self._inserted = 0
        self.lock = threading.Lock()

    def _prepare(self, vector: np.ndarray) -> np.ndarray:
        if self.metric == "cosine":
            norm = float(np.linalg.norm(vector))
            return vector / norm if norm else vector
        return vector

    def _grow(self) -> None:
        capacity = max(16, self.size * 2)
        grown = np.zeros((self.dimensions, capacity), dtype=np.float32)
        grown[:, : self.size] = self.columns[:, : self.size]
        norms = np.zeros(capacity, dtype=np.float32)
        norms[: self.size] = self.sq_norms[: self.size]
        self.columns, self.sq_norms = grown, norms

    def put(self, item_id: str, vector: np.ndarray, metadata: dict[str, Any] | None) -> None:
        """Insert or replace one row."""
        position = self.positions.get(item_id)
        if position is None:
            if self.size == self.columns.shape[1]:
                self._grow()
            position = self.size
            self.size += 1
            self.positions[item_id] = position
            self.ids.append(item_id)
            self.metadata.append(metadata)
            self.raw.append(vector)
            self.added.append(self._inserted)
            self._inserted += 1
        else:
            self.metadata[position] = metadata
            self.raw[position] = vector
        self.columns[:, position] = self._prepare(vector)
        wide = vector.astype(np.float64)
        self.sq_norms[position] = wide @ wide

    def remove(self, item_id: str) -> bool:
        """Delete one row (the last row moves into its place)."""
        position = self.positions.pop(item_id, None)
        if position is None:
            return False
        last = self.size - 1
        if position != last:
            moved = self.ids[last]
            self.columns[:, position] = self.columns[:, last]
            self.sq_norms[position] = self.sq_norms[last]
            self.ids[position], self.metadata[position], self.raw[position] = (
                moved,
                self.metadata[last],
                self.raw[last],
            )
            self.positions[moved] = position
            self.added[position] = self.added[last]
        self.added.pop()
        self.ids.pop()
        self.metadata.pop()
        self.raw.pop()
        self.size -= 1
        return True

    def _fast_scores(self, query: np.ndarray) -> np.ndarray:
        """float32 scores, higher is better (for euclidean ``2x·q - ||x||²``, same order as the distance)."""
        columns = self.columns[:, : self.size]
        if self.metric == "euclidean":
            scores: np.ndarray = query @ columns
            scores *= 2.0
            scores -= self.sq_norms[: self.size]
            return scores
        similarities: np.ndarray = self._prepare(query) @ columns
        return similarities

    def exact_scores(self, positions: np.ndarray, query: np.ndarray) -> np.ndarray:
        """float64 scores of some rows from the stored vectors (euclidean: the negated distance)."""
        return exact_scores(np.stack([self.raw[i] for i in positions]), query, self.metric)

    def search(self, query: np.ndarray, top_k: int, flt: dict[str, Any] | None) -> list[tuple[int, float]]:
        """``(position, score)`` best first; cosine/dot scores are similarities, euclidean a distance.

        Ties are broken by insertion order.
        """
        if self.size == 0:
            return []
        scores = self._fast_scores(query)
        if flt:
            mask = np.fromiter((_matches(m, flt) for m in self.metadata), dtype=bool, count=self.size)
            scores[~mask] = -np.inf
        candidates = candidate_positions(scores, top_k + EXTRA_CANDIDATES)
        candidates = candidates[np.isfinite(scores[candidates])]
        if candidates.size == 0:
            return []
        exact = self.exact_scores(candidates, query)
        added = np.asarray([self.added[c] for c in candidates])
        order = np.lexsort((added, -exact))[:top_k]
        sign = -1.0 if self.metric == "euclidean" else 1.0
        return [(int(candidates[i]), sign * float(exact[i])) for i in order]


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in ("id", "name", "dimensions", "metric", "search", "created_at")}


def _matches(metadata: dict[str, Any] | None, flt: dict[str, Any]) -> bool:
    meta = metadata or {}
    return all(json_equal(meta.get(k), v) for k, v in flt.items())


class VectorStore(Protocol):
    """Where an index's vectors live and how they are searched (in memory, or in pgvector)."""

    def count(self, record: dict[str, Any]) -> int:
        """How many vectors the index holds."""
        ...

    def upsert(self, record: dict[str, Any], vectors: list[dict[str, Any]], arrays: list[np.ndarray]) -> int:
        """Insert or replace checked vectors (all or none); return the index's new count."""
        ...

    def search(
        self,
        record: dict[str, Any],
        query: np.ndarray,
        top_k: int,
        flt: dict[str, Any] | None,
        include_values: bool,
    ) -> list[dict[str, Any]]:
        """The ``top_k`` matches, best first, ties in insertion order (exact in float64)."""
        ...

    def delete(self, record: dict[str, Any], ids: list[str]) -> int:
        """Delete vectors by id; return how many existed."""
        ...

    def drop(self, record: dict[str, Any]) -> None:
        """Delete every vector of the index (inside the caller's transaction)."""
        ...

    def prepare(self, record: dict[str, Any]) -> None:
        """Make what a new index's search mode needs (an HNSW graph)."""
        ...


class MatrixStore:
    """Vectors in the ``vector_items`` table, searched in a float32 matrix per index kept in memory."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._loaded: dict[str, MatrixIndex] = {}
        self._lock = threading.Lock()

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

    def count(self, record: dict[str, Any]) -> int:
        """How many vectors the index holds."""
        return self._index(record).size

    def upsert(self, record: dict[str, Any], vectors: list[dict[str, Any]], arrays: list[np.ndarray]) -> int:
        """Write the rows, then put them in the matrix."""
        index = self._index(record)
        with index.lock:
            with self.db.transaction() as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO vector_items (index_id, id, vec, metadata) VALUES (?,?,?,?)",
                    [
                        (record["id"], v["id"], a.tobytes(), to_json(v.get("metadata")))
                        for v, a in zip(vectors, arrays, strict=True)
                    ],
                )
            for item, array in zip(vectors, arrays, strict=True):
                index.put(item["id"], array, item.get("metadata"))
            return index.size

    def search(
        self,
        record: dict[str, Any],
        query: np.ndarray,
        top_k: int,
        flt: dict[str, Any] | None,
        include_values: bool,
    ) -> list[dict[str, Any]]:
        """Search the matrix."""
        index = self._index(record)
        with index.lock:
            out = []
            for position, score in index.search(query, top_k, flt):
                match: dict[str, Any] = {
                    "id": index.ids[position],
                    "score": score,
                    "metadata": index.metadata[position],
                }
                if include_values:
                    match["values"] = index.raw[position].tolist()
                out.append(match)
        return out

    def delete(self, record: dict[str, Any], ids: list[str]) -> int:
        """Delete the rows and take them out of the matrix."""
        index = self._index(record)
        with index.lock:
            with self.db.transaction() as conn:
                conn.executemany(
                    "DELETE FROM vector_items WHERE index_id=? AND id=?", [(record["id"], i) for i in ids]
                )
            return sum(1 for i in set(ids) if index.remove(i))

    def drop(self, record: dict[str, Any]) -> None:
        """Delete the rows and forget the matrix."""
        self.db.execute("DELETE FROM vector_items WHERE index_id=?", (record["id"],))
        self._loaded.pop(record["id"], None)

    def prepare(self, record: dict[str, Any]) -> None:
        """Nothing: the matrix is always searched exactly."""


class VectorBackend(VectorOperations[Call]):
    """Vector indexes of workspaces."""

    def __init__(self, platform: Platform) -> None:
        self.db = platform.db
        self.db.migrate("vector", SCHEMA)
        self.store: VectorStore = (
            MatrixStore(self.db) if isinstance(self.db, SqliteDatabase) else PgVectorStore(self.db)
        )
        self._records: dict[str, dict[str, Any]] = {}

    def create(
        self,
        org_id: str,
        workspace_id: str,
        name: str,
        dimensions: int,
        metric: str,
        search: str | None = None,
    ) -> dict[str, Any]:
        """Create an index (409 on a duplicate name, 400 for an HNSW graph of too many dimensions)."""
        search = search or default_of(VectorIndexCreate, "search")
        if search == "hnsw" and dimensions > HNSW_MAX_DIMENSIONS:
            raise bad_request(
                f"an hnsw index takes at most {HNSW_MAX_DIMENSIONS} dimensions, not {dimensions};"
                " use search 'exact'",
                "dimensions",
            )
        record: dict[str, Any] = {
            "id": new_id(),
            "name": name,
            "dimensions": dimensions,
            "metric": metric,
            "search": search,
            "created_at": now_iso(),
        }
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO vector_indexes (id, org_id, workspace_id, name, dimensions, metric, search, created_at)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (
                        record["id"],
                        org_id,
                        workspace_id,
                        name,
                        dimensions,
                        metric,
                        search,
                        record["created_at"],
                    ),
                )
                self.store.prepare(record)
        except IntegrityError as exc:
            raise conflict(f"vector index '{name}' exists already") from exc
        self._records[record["id"]] = {**record, "org_id": org_id, "workspace_id": workspace_id}
        return {**record, "count": 0}

    def get(self, org_id: str, workspace_id: str, index_id: str) -> dict[str, Any]:
        """An index with its vector count (404 when absent)."""
        record = self._record(org_id, workspace_id, index_id)
        return {**_public(record), "count": self.store.count(record)}

    def _record(self, org_id: str, workspace_id: str, index_id: str) -> dict[str, Any]:
        """The index's stored record (cached after the first read; records never change)."""
        record = self._records.get(index_id)
        if record is None:
            row = self.db.query_one(
                "SELECT id, org_id, workspace_id, name, dimensions, metric, search, created_at FROM vector_indexes"
                " WHERE id=?",
                (index_id,),
            )
            if row is not None:
                found = dict(row)
                found["search"] = found["search"] or default_of(VectorIndexCreate, "search")
                record = self._records.setdefault(index_id, found)
        if record is None or record["org_id"] != org_id or record["workspace_id"] != workspace_id:
            raise not_found("vector index", index_id)
        return record

    def indexes(
        self, org_id: str, workspace_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the indexes of a workspace, oldest first, and the cursor of the next page."""
        page = select_page(
            self.db,
            INDEXES_ORDER,
            "SELECT id, created_at FROM vector_indexes WHERE org_id=? AND workspace_id=?",
            (org_id, workspace_id),
            limit=limit,
            cursor=cursor,
        )
        return [self.get(org_id, workspace_id, r["id"]) for r in page.rows], page.next_cursor

    def drop(self, org_id: str, workspace_id: str, index_id: str) -> None:
        """Delete an index and its vectors."""
        record = self._record(org_id, workspace_id, index_id)
        with self.db.transaction() as conn:
            self.store.drop(record)
            conn.execute("DELETE FROM vector_indexes WHERE id=?", (index_id,))
        self._records.pop(index_id, None)

    def upsert(
        self, org_id: str, workspace_id: str, index_id: str, vectors: list[dict[str, Any]]
    ) -> dict[str, int]:
        """Insert or replace vectors; all are checked before any is written."""
        record = self._record(org_id, workspace_id, index_id)
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
        count = self.store.upsert(record, vectors, arrays)
        return {"upserted": len(vectors), "count": count}

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
        record = self._record(org_id, workspace_id, index_id)
        array = np.asarray(query, dtype=np.float32)
        if array.shape != (record["dimensions"],):
            raise bad_request(
                f"query_embedding has {array.size} values; the index has {record['dimensions']} dimensions",
                "query_embedding",
            )
        if not np.all(np.isfinite(array)):
            raise bad_request("query_embedding holds a value that is not a finite number", "query_embedding")
        return self.store.search(record, array, top_k, flt, include_values)

    def delete(self, org_id: str, workspace_id: str, index_id: str, ids: list[str]) -> int:
        """Delete vectors by id; return how many existed."""
        return self.store.delete(self._record(org_id, workspace_id, index_id), ids)

    async def list_vector_indexes(
        self, call: Call, *, org_id: str, workspace_id: str, limit: int, cursor: str | None
    ) -> list[VectorIndex]:
        """Indexes of the workspace, oldest first, a page at a time."""
        items, next_cursor = self.indexes(org_id, workspace_id, limit, cursor)
        announce(call.answer_headers, next_cursor)
        return [VectorIndex.model_validate(i) for i in items]

    async def create_vector_index(
        self, call: Call, *, org_id: str, workspace_id: str, body: VectorIndexCreate
    ) -> VectorIndex:
        """Create an index."""
        metric = body.metric or default_of(VectorIndexCreate, "metric")
        record = self.create(org_id, workspace_id, body.name, body.dimensions, metric, body.search)
        return VectorIndex.model_validate(record)

    async def get_vector_index(
        self, call: Call, *, org_id: str, workspace_id: str, index_id: str
    ) -> VectorIndex:
        """One index."""
        return VectorIndex.model_validate(self.get(org_id, workspace_id, index_id))

    async def delete_vector_index(self, call: Call, *, org_id: str, workspace_id: str, index_id: str) -> None:
        """Delete an index and its vectors."""
        self.drop(org_id, workspace_id, index_id)

    async def precheck_upsert_vectors(
        self, call: Call, *, org_id: str, workspace_id: str, index_id: str, raw: bytes
    ) -> None:
        """Refuse a large upsert at its first vector of the wrong size, before the body is decoded whole."""
        if len(raw) < PRECHECK_MIN_BYTES:
            return
        dimensions = int(self._record(org_id, workspace_id, index_id)["dimensions"])
        wrong = first_wrong_size(raw, dimensions)
        if wrong is not None:
            position, size = wrong
            raise bad_request(
                f"vector {position} has {size} values; the index has {dimensions} dimensions",
                f"vectors.{position}.values",
            )

    async def upsert_vectors(
        self, call: Call, *, org_id: str, workspace_id: str, index_id: str, body: VectorUpsert
    ) -> VectorUpsertResult:
        """Insert or replace vectors."""
        vectors = body.model_dump(mode="json")["vectors"]
        return VectorUpsertResult.model_validate(self.upsert(org_id, workspace_id, index_id, vectors))

    async def search_vectors(
        self, call: Call, *, org_id: str, workspace_id: str, index_id: str, body: VectorSearch
    ) -> VectorSearchResult:
        """The nearest vectors to a query."""
        matches = self.search(
            org_id, workspace_id, index_id, body.query_embedding, body.top_k, body.filter, body.include_values
        )
        return VectorSearchResult.model_validate({"matches": matches})

    async def delete_vectors(
        self, call: Call, *, org_id: str, workspace_id: str, index_id: str, body: VectorDelete
    ) -> VectorDeleteResult:
        """Delete vectors by id."""
        return VectorDeleteResult(deleted=self.delete(org_id, workspace_id, index_id, body.ids))
