"""Nearest-neighbour search on pgvector: exact scans against numpy, HNSW recall, filters in SQL."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from flow_local.cluster.engines import PostgresEngine
from flow_local.pgvector_search import PgVectorSearch

DIMENSIONS = 32


def _clustered(rng: np.random.Generator, count: int, centres: np.ndarray) -> np.ndarray:
    picks = centres[rng.integers(0, len(centres), count)]
    return (picks + 0.3 * rng.standard_normal((count, DIMENSIONS))).astype(np.float32)


def _true_top(matrix: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    return [int(i) for i in np.argsort(-scores)[:k]]


@pytest.fixture(scope="module")
def search(postgres: PostgresEngine) -> Iterator[PgVectorSearch]:
    store = PgVectorSearch(postgres.create_database("pgvector_search"), "items", DIMENSIONS)
    yield store
    store.close()


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((50, DIMENSIONS))
    return _clustered(rng, 4000, centres), _clustered(rng, 40, centres)


def test_exact_search_finds_numpys_top_ten(
    search: PgVectorSearch, data: tuple[np.ndarray, np.ndarray]
) -> None:
    matrix, queries = data
    assert search.load("exact", [str(i) for i in range(len(matrix))], matrix) == len(matrix)
    for query in queries[:10]:
        found = search.search("exact", query, 10, exact=True)
        assert [int(i) for i, _ in found] == _true_top(matrix, query, 10)
        assert [score for _, score in found] == sorted((score for _, score in found), reverse=True)


def test_hnsw_is_used_and_recalls_most_of_the_true_top_ten(
    search: PgVectorSearch, data: tuple[np.ndarray, np.ndarray]
) -> None:
    matrix, queries = data
    search.load("approx", [str(i) for i in range(len(matrix))], matrix)
    search.create_hnsw_index(m=16, ef_construction=64)
    assert search.uses_index("approx", queries[0], 10)
    hits = 0
    for query in queries:
        found = {int(i) for i, _ in search.search("approx", query, 10, ef_search=100)}
        hits += len(found & set(_true_top(matrix, query, 10)))
    assert hits / (10 * len(queries)) >= 0.9
    exact = search.search("approx", queries[0], 10, exact=True)
    assert [int(i) for i, _ in exact] == _true_top(matrix, queries[0], 10)


def test_metadata_filters_run_in_sql(search: PgVectorSearch) -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((20, DIMENSIONS)).astype(np.float32)
    metadata = [{"team": "red" if i % 2 else "blue", "n": i} for i in range(20)]
    search.upsert("filtered", [f"v{i}" for i in range(20)], vectors, metadata)
    found = search.search("filtered", vectors[3], 5, exact=True, where={"team": "red"})
    assert found[0][0] == "v3" and len(found) == 5
    assert all(int(item_id[1:]) % 2 == 1 for item_id, _ in found)


def test_upsert_replaces_and_delete_counts(search: PgVectorSearch) -> None:
    one = np.ones(DIMENSIONS, dtype=np.float32)
    search.upsert("changes", ["a", "b"], [one, -one])
    search.upsert("changes", ["a"], [-one])
    assert search.search("changes", -one, 2, exact=True)[0][1] == pytest.approx(1.0)
    assert search.search("changes", one, 2, exact=True)[0][1] == pytest.approx(-1.0)
    assert search.delete("changes", ["a", "missing"]) == 1


def test_bad_vectors_are_refused_by_name(search: PgVectorSearch) -> None:
    with pytest.raises(ValueError, match="32 values each"):
        search.upsert("bad", ["x"], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="finite"):
        search.upsert("bad", ["x"], [[float("nan")] * DIMENSIONS])
    with pytest.raises(ValueError, match="table name"):
        PgVectorSearch(search.url, "Robert'); DROP TABLE items;--", DIMENSIONS)
