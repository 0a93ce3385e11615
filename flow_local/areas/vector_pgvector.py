"""Vector indexes in PostgreSQL: a pgvector column searched by the index's metric, exactly.

Every index's vectors sit in one table (``vector_embeddings``), keyed by index and id, with their
metadata as ``jsonb`` and an insertion number. A search asks pgvector for the ``top_k`` nearest (plus
a few more) by the metric's operator, filters on metadata in SQL, and re-scores those candidates in
float64 from the stored values, ties in insertion order: the same answers as the in-memory search.
The distance is wrapped (``+ 0``) so that the planner scans instead of using an approximate index.

An index created with ``search: hnsw`` gets its own partial HNSW index (on ``embedding::vector(N)``
with the metric's operator class, for that index's rows only). Its searches without a filter and
with ``top_k`` of at most :data:`HNSW_MAX_RESULTS` walk the graph (approximate: recall below 1,
scores still exact); the others stay exact, since a filter applied after the walk, or more results
than the walk's :data:`HNSW_EF_SEARCH` candidates, would return fewer matches than asked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flow_local.areas.datasets_sql import Fragment, PostgresJson
from flow_local.areas.vector_scoring import EXTRA_CANDIDATES, exact_scores
from flow_local.db import Database, from_json, to_json
from flow_local.sql_dialect import PGVECTOR_OPERATORS

HNSW_EF_SEARCH = 100
"""``hnsw.ef_search`` of a graph walk: its breadth, and the most candidates it returns."""
HNSW_MAX_RESULTS = HNSW_EF_SEARCH - EXTRA_CANDIDATES
SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS vector",
    "CREATE TABLE vector_embeddings (index_id TEXT NOT NULL, id TEXT NOT NULL,"
    " seq BIGINT GENERATED ALWAYS AS IDENTITY, embedding vector NOT NULL, metadata JSONB,"
    " PRIMARY KEY (index_id, id))",
    # The graph walk of one index: its partial HNSW index is named by the literal index id and
    # dimensions (planned afresh, so the planner can match them), and every other plan is switched
    # off for the call, so that a small or freshly loaded table is still searched through its graph.
    "CREATE FUNCTION vector_hnsw_nearest(target TEXT, dimensions INT, operator TEXT, query TEXT, wanted INT)"
    " RETURNS TABLE (id TEXT, seq BIGINT, metadata TEXT, vals FLOAT4[]) LANGUAGE plpgsql STABLE"
    f" SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off SET hnsw.ef_search = {HNSW_EF_SEARCH}"
    " AS $body$ BEGIN"
    " IF operator NOT IN ('<=>', '<->', '<#>') THEN RAISE EXCEPTION 'unknown operator %', operator; END IF;"
    " RETURN QUERY EXECUTE format('SELECT e.id, e.seq, e.metadata::text, e.embedding::float4[]"
    " FROM vector_embeddings e WHERE e.index_id = %L ORDER BY e.embedding::vector(%s) ' || operator ||"
    " ' %L::vector(%s) LIMIT %s', target, dimensions, query, dimensions, wanted); END $body$",
]
TABLES = ("vector_embeddings",)
"""Tables only PostgreSQL has (the SQLite profile keeps vectors in ``vector_items``)."""


def vector_literal(values: np.ndarray) -> str:
    """pgvector's text form of a float32 vector (each value round-trips exactly)."""
    return to_json([float(v) for v in values])


def distance(metric: Any, column: str, query: np.ndarray) -> Fragment:
    """The SQL distance of ``column`` to ``query`` by ``metric``, smaller is nearer.

    A cosine distance to or from a zero vector is NaN in pgvector; it counts as 1 (similarity 0), as
    the exact scoring has it.
    """
    operator, _ = PGVECTOR_OPERATORS[metric]
    raw = Fragment(f"({column} {operator} ?::vector)", (vector_literal(query),))
    if metric == "cosine":
        return Fragment("(CASE WHEN ") + raw + Fragment(" = 'NaN' THEN 1 ELSE ") + raw + Fragment(" END)")
    return raw


def metadata_filter(flt: dict[str, Any] | None, column: str) -> Fragment:
    """`` AND ...`` conditions: each key of ``flt`` equal (as JSON) to its value in ``column``."""
    out = Fragment("")
    for key, value in (flt or {}).items():
        out = out + Fragment(" AND ") + PostgresJson(key, column=column).equals(value).fragment
    return out


def _hnsw_name(record: dict[str, Any]) -> str:
    """The HNSW index's name: the index id's letters and digits (ids are UUIDs)."""
    return "vector_hnsw_" + "".join(c for c in str(record["id"]) if c.isalnum())


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class PgVectorStore:
    """The vectors of every index in ``vector_embeddings``."""

    def __init__(self, db: Database) -> None:
        db.migrate("vector_pgvector", SCHEMA)
        self.db = db
        self._move_items()

    def _move_items(self) -> None:
        """Move vectors a release without pgvector stored in ``vector_items`` into the pgvector table."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                "SELECT index_id, id, vec, metadata FROM vector_items ORDER BY rowid"
            ).fetchall()
            if not rows:
                return
            conn.executemany(
                "INSERT INTO vector_embeddings (index_id, id, embedding, metadata)"
                " VALUES (?, ?, ?::vector, ?::jsonb) ON CONFLICT (index_id, id) DO NOTHING",
                [
                    (row[0], row[1], vector_literal(np.frombuffer(bytes(row[2]), dtype=np.float32)), row[3])
                    for row in rows
                ],
            )
            conn.execute("DELETE FROM vector_items")

    def count(self, record: dict[str, Any]) -> int:
        """How many vectors the index holds."""
        row = self.db.query_one("SELECT COUNT(*) FROM vector_embeddings WHERE index_id = ?", (record["id"],))
        return int(row[0]) if row is not None else 0

    def upsert(self, record: dict[str, Any], vectors: list[dict[str, Any]], arrays: list[np.ndarray]) -> int:
        """Insert or replace the vectors in one transaction (a replaced vector keeps its place)."""
        rows = [
            (
                record["id"],
                item["id"],
                vector_literal(array),
                None if item.get("metadata") is None else to_json(item["metadata"]),
            )
            for item, array in zip(vectors, arrays, strict=True)
        ]
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO vector_embeddings (index_id, id, embedding, metadata) VALUES (?, ?, ?::vector, ?::jsonb)"
                " ON CONFLICT (index_id, id) DO UPDATE SET embedding = EXCLUDED.embedding,"
                " metadata = EXCLUDED.metadata",
                rows,
            )
            return self.count(record)

    def prepare(self, record: dict[str, Any]) -> None:
        """Build the index's HNSW graph when its search mode asks for one."""
        if record["search"] != "hnsw":
            return
        _, opclass = PGVECTOR_OPERATORS[record["metric"]]
        self.db.execute(
            f"CREATE INDEX {_hnsw_name(record)} ON vector_embeddings USING hnsw"
            f" ((embedding::vector({int(record['dimensions'])})) {opclass})"
            f" WHERE index_id = {_literal(record['id'])}"
        )

    def _candidates(
        self, record: dict[str, Any], query: np.ndarray, top_k: int, flt: dict[str, Any] | None
    ) -> list[Any]:
        """``(id, seq, metadata, values)`` of the nearest rows by pgvector, a few more than ``top_k``."""
        metric = record["metric"]
        wanted = top_k + EXTRA_CANDIDATES
        if record["search"] == "hnsw" and not flt and top_k <= HNSW_MAX_RESULTS:
            operator, _ = PGVECTOR_OPERATORS[metric]
            return self.db.query(
                "SELECT id, seq, metadata, vals FROM vector_hnsw_nearest(?, ?, ?, ?, ?)",
                (record["id"], int(record["dimensions"]), operator, vector_literal(query), wanted),
            )
        where = Fragment("index_id = ?", (record["id"],)) + metadata_filter(flt, "metadata")
        nearest = distance(metric, "embedding", query)
        sql = (
            "SELECT id, seq, metadata::text, embedding::real[] FROM vector_embeddings"
            f" WHERE {where.sql} ORDER BY {nearest.sql} + 0, seq LIMIT ?"
        )
        return self.db.query(sql, (*where.params, *nearest.params, wanted))

    def search(
        self,
        record: dict[str, Any],
        query: np.ndarray,
        top_k: int,
        flt: dict[str, Any] | None,
        include_values: bool,
    ) -> list[dict[str, Any]]:
        """The nearest vectors by pgvector, re-scored exactly."""
        metric = record["metric"]
        rows = self._candidates(record, query, top_k, flt)
        if not rows:
            return []
        matrix = np.asarray([row[3] for row in rows], dtype=np.float32)
        scores = exact_scores(matrix, query, metric)
        order = np.lexsort((np.asarray([int(row[1]) for row in rows]), -scores))[:top_k]
        sign = -1.0 if metric == "euclidean" else 1.0
        out = []
        for i in order:
            match: dict[str, Any] = {
                "id": rows[i][0],
                "score": sign * float(scores[i]),
                "metadata": from_json(rows[i][2]),
            }
            if include_values:
                match["values"] = matrix[i].tolist()
            out.append(match)
        return out

    def delete(self, record: dict[str, Any], ids: list[str]) -> int:
        """Delete vectors by id; return how many existed."""
        return self.db.execute(
            "DELETE FROM vector_embeddings WHERE index_id = ? AND id = ANY(?)", (record["id"], list(set(ids)))
        )

    def drop(self, record: dict[str, Any]) -> None:
        """Delete every vector of the index, and its HNSW graph."""
        self.db.execute("DELETE FROM vector_embeddings WHERE index_id = ?", (record["id"],))
        self.db.execute(f"DROP INDEX IF EXISTS {_hnsw_name(record)}")
