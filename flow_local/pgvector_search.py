"""Nearest-neighbour search in PostgreSQL with pgvector: exact scans, or an HNSW index.

One table holds the vectors of many collections (``collection``, ``id``, ``embedding``, ``metadata``).
A search is either exact (a sequential scan ordered by distance: always the true top k) or approximate
through an HNSW index (``create_hnsw_index``), whose breadth ``ef_search`` trades recall for speed.
Metadata filters are pushed into SQL as JSONB containment (``metadata @> {...}``).

The vector and memory areas search pgvector through the platform's database (the same operators,
``flow_local.areas.vector_pgvector``); this standalone form is what ``benchmarks/pgvector_recall.py``
measures recall and latency with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg import sql

from flow_local._generated.routers.types import DistanceMetric
from flow_local.sql_dialect import PGVECTOR_OPERATORS

_OPERATORS = PGVECTOR_OPERATORS
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PgVectorSearch:
    """Vectors of one dimension and metric in one PostgreSQL table.

    Args:
        url: The database (its ``vector`` extension is created when missing).
        table: Table name (lower-case letters, digits and ``_``).
        dimensions: Length of every vector.
        metric: ``cosine`` (scores are cosine similarity), ``euclidean`` (scores are negative
            distances) or ``dot`` (scores are inner products).
    """

    def __init__(self, url: str, table: str, dimensions: int, metric: DistanceMetric = "cosine") -> None:
        if not _NAME.fullmatch(table):
            raise ValueError(f"table name {table!r}: use lower-case letters, digits and '_' (at most 63)")
        if metric not in _OPERATORS:
            raise ValueError(f"metric {metric!r}: use one of {', '.join(_OPERATORS)}")
        self.url = url
        self.table = sql.Identifier(table)
        self.index = sql.Identifier(f"{table}_hnsw")
        self.dimensions = dimensions
        self.metric = metric
        self._conn = psycopg.connect(url, autocommit=True)
        self._conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(self._conn)
        self._create_table()

    def _create_table(self) -> None:
        self._conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (collection TEXT NOT NULL, id TEXT NOT NULL,"
                " embedding vector({}) NOT NULL, metadata JSONB, PRIMARY KEY (collection, id))"
            ).format(self.table, sql.Literal(self.dimensions))
        )

    def _matrix(self, vectors: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.dimensions:
            raise ValueError(f"vectors must have {self.dimensions} values each, got shape {matrix.shape}")
        if not np.all(np.isfinite(matrix)):
            raise ValueError("vectors must hold finite numbers only")
        return matrix

    def upsert(
        self,
        collection: str,
        ids: Sequence[str],
        vectors: Sequence[Sequence[float]] | np.ndarray,
        metadata: Sequence[dict[str, Any] | None] | None = None,
    ) -> int:
        """Insert or replace vectors (all in one transaction); return how many were written."""
        matrix = self._matrix(vectors)
        if len(ids) != len(matrix) or (metadata is not None and len(metadata) != len(ids)):
            raise ValueError("ids, vectors and metadata must have the same length")
        rows = [
            (collection, item_id, vector, None if metadata is None else _jsonb(metadata[n]))
            for n, (item_id, vector) in enumerate(zip(ids, matrix, strict=True))
        ]
        statement = sql.SQL(
            "INSERT INTO {} (collection, id, embedding, metadata) VALUES (%s, %s, %s, %s::jsonb)"
            " ON CONFLICT (collection, id) DO UPDATE SET embedding = EXCLUDED.embedding,"
            " metadata = EXCLUDED.metadata"
        ).format(self.table)
        with self._conn.transaction(), self._conn.cursor() as cursor:
            cursor.executemany(statement, rows)
        return len(rows)

    def load(
        self, collection: str, ids: Sequence[str], vectors: Sequence[Sequence[float]] | np.ndarray
    ) -> int:
        """Bulk-load new vectors with binary COPY (no upsert: the ids must be new)."""
        matrix = self._matrix(vectors)
        statement = sql.SQL("COPY {} (collection, id, embedding) FROM STDIN WITH (FORMAT BINARY)").format(
            self.table
        )
        with self._conn.transaction(), self._conn.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types(["text", "text", "vector"])
            for item_id, vector in zip(ids, matrix, strict=True):
                copy.write_row((collection, item_id, vector))
        self._analyze()
        return len(matrix)

    def _analyze(self) -> None:
        """Refresh the planner's statistics, so that it weighs the index against a scan correctly."""
        self._conn.execute(sql.SQL("ANALYZE {}").format(self.table))

    def delete(self, collection: str, ids: Sequence[str]) -> int:
        """Delete vectors by id; return how many existed."""
        statement = sql.SQL("DELETE FROM {} WHERE collection = %s AND id = ANY(%s)").format(self.table)
        return self._conn.execute(statement, (collection, list(ids))).rowcount

    def create_hnsw_index(
        self, m: int = 16, ef_construction: int = 64, maintenance_work_mem: str = "512MB"
    ) -> None:
        """Build the HNSW index for this table's metric (searches may then be approximate)."""
        _, opclass = _OPERATORS[self.metric]
        with self._conn.transaction():
            self._conn.execute(
                sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(maintenance_work_mem))
            )
            self._conn.execute(
                sql.SQL(
                    "CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw (embedding {}) WITH (m = {}, ef_construction = {})"
                ).format(
                    self.index, self.table, sql.SQL(opclass), sql.Literal(m), sql.Literal(ef_construction)
                )
            )
        self._analyze()

    def drop_hnsw_index(self) -> None:
        """Drop the HNSW index (searches are exact again)."""
        self._conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(self.index))

    @contextmanager
    def _plan(self, exact: bool, ef_search: int | None) -> Iterator[psycopg.Connection[Any]]:
        with self._conn.transaction():
            if exact:
                self._conn.execute("SET LOCAL enable_indexscan = off")
                self._conn.execute("SET LOCAL enable_bitmapscan = off")
            elif ef_search is not None:
                self._conn.execute(sql.SQL("SET LOCAL hnsw.ef_search = {}").format(sql.Literal(ef_search)))
                self._conn.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            yield self._conn

    def search(
        self,
        collection: str,
        query: Sequence[float] | np.ndarray,
        top_k: int,
        *,
        exact: bool = False,
        ef_search: int | None = None,
        where: dict[str, Any] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``top_k`` nearest vectors of a collection, best first, as ``(id, score)``.

        Args:
            collection: The collection searched.
            query: The query vector.
            top_k: How many results at most.
            exact: Scan every vector (the true top k) instead of using the HNSW index.
            ef_search: The HNSW search breadth (default 40); ignored when exact.
            where: Only vectors whose metadata contains these key/values.
        """
        vector = self._matrix(np.asarray(query, dtype=np.float32)[None, :])[0]
        operator, _ = _OPERATORS[self.metric]
        condition = sql.SQL(" AND metadata @> %s::jsonb") if where else sql.SQL("")
        statement = sql.SQL(
            "SELECT id, embedding {op} %s AS distance FROM {table} WHERE collection = %s{condition}"
            " ORDER BY embedding {op} %s LIMIT %s"
        ).format(op=sql.SQL(operator), table=self.table, condition=condition)
        params: list[Any] = [vector, collection]
        if where:
            params.append(_jsonb(where))
        params += [vector, top_k]
        with self._plan(exact, ef_search) as conn:
            rows = conn.execute(statement, params).fetchall()
        return [(str(item_id), self._score(float(distance))) for item_id, distance in rows]

    def _score(self, distance: float) -> float:
        if self.metric == "cosine":
            return 1.0 - distance
        return -distance

    def uses_index(self, collection: str, query: Sequence[float] | np.ndarray, top_k: int) -> bool:
        """Whether an approximate search of this query would use the HNSW index (from EXPLAIN)."""
        vector = self._matrix(np.asarray(query, dtype=np.float32)[None, :])[0]
        operator, _ = _OPERATORS[self.metric]
        statement = sql.SQL(
            "EXPLAIN SELECT id FROM {table} WHERE collection = %s ORDER BY embedding {op} %s LIMIT %s"
        ).format(op=sql.SQL(operator), table=self.table)
        with self._plan(False, None) as conn:
            plan = "\n".join(
                str(row[0]) for row in conn.execute(statement, (collection, vector, top_k)).fetchall()
            )
        return self.index.as_string(conn).strip('"') in plan

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def _jsonb(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))
