"""Vector indexes in PostgreSQL: a pgvector column searched by the index's metric, exactly.

Every index's vectors sit in one table (``vector_embeddings``), keyed by index and id, with their
metadata as ``jsonb`` and an insertion number. A search asks pgvector for the ``top_k`` nearest (plus
a few more) by the metric's operator, filters on metadata in SQL, and re-scores those candidates in
float64 from the stored values, ties in insertion order: the same answers as the in-memory search.
The distance is wrapped (``+ 0``) so that the planner scans instead of using an approximate index.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flow_local.areas.datasets_sql import Fragment, PostgresJson
from flow_local.areas.vector_scoring import EXTRA_CANDIDATES, exact_scores
from flow_local.db import Database, from_json, to_json
from flow_local.sql_dialect import PGVECTOR_OPERATORS

SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS vector",
    "CREATE TABLE vector_embeddings (index_id TEXT NOT NULL, id TEXT NOT NULL,"
    " seq BIGINT GENERATED ALWAYS AS IDENTITY, embedding vector NOT NULL, metadata JSONB,"
    " PRIMARY KEY (index_id, id))",
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


class PgVectorStore:
    """The vectors of every index in ``vector_embeddings``."""

    def __init__(self, db: Database) -> None:
        db.migrate("vector_pgvector", SCHEMA)
        self.db = db

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
        where = Fragment("index_id = ?", (record["id"],)) + metadata_filter(flt, "metadata")
        nearest = distance(metric, "embedding", query)
        sql = (
            "SELECT id, seq, metadata::text, embedding::real[] FROM vector_embeddings"
            f" WHERE {where.sql} ORDER BY {nearest.sql} + 0, seq LIMIT ?"
        )
        rows = self.db.query(sql, (*where.params, *nearest.params, top_k + EXTRA_CANDIDATES))
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
        """Delete every vector of the index."""
        self.db.execute("DELETE FROM vector_embeddings WHERE index_id = ?", (record["id"],))
