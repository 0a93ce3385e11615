"""Vector indexes and memories keep the same answers on either store: the in-memory matrix (SQLite) or
pgvector (PostgreSQL, under ``nox -s cluster``): metadata filters as JSON equality, exact stored values,
deletes, zero vectors, and (on PostgreSQL) one replica's writes seen by another at once.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from flow_local.areas.memory import EMBEDDING_MODEL, MemoryBackend
from flow_local.areas.vector import HNSW_MAX_DIMENSIONS, MatrixStore, VectorBackend
from flow_local.areas.vector_pgvector import HNSW_MAX_RESULTS, PgVectorStore
from flow_local.core import Platform
from flow_local.errors import ApiError
from flow_local.gateway.backend import GatewayBackend
from flow_local.settings import SEALING_KEY_FILE, Settings

ORG, WS = "org-vec", "ws-vec"


def _on_postgres() -> bool:
    """Whether this run's platforms use PostgreSQL (the cluster profile sets the URL per module)."""
    return os.environ.get("FLOW_DATABASE_URL", "").startswith("postgres")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    found = Platform(Settings.load(tmp_path_factory.mktemp("vectors")))
    yield found
    found.close()


@pytest.fixture(scope="module")
def vectors(platform: Platform) -> VectorBackend:
    return platform.backend(VectorBackend)


def test_the_store_follows_the_database(vectors: VectorBackend) -> None:
    assert isinstance(vectors.store, PgVectorStore if _on_postgres() else MatrixStore)


METADATA: list[dict[str, Any] | None] = [
    {"tag": "a", "n": 1},
    {"tag": "a", "n": 1.0},
    {"tag": "a", "n": True},
    {"tag": ["a", "b"]},
    {"tag": {"k": [1, 2]}},
    {"tag": None},
    {},
    None,
]


def _index(vectors: VectorBackend, name: str, metric: str, dimensions: int = 4) -> str:
    return str(vectors.create(ORG, WS, name, dimensions, metric)["id"])


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_metadata_filters_are_json_equality(vectors: VectorBackend, metric: str) -> None:
    index_id = _index(vectors, f"filters-{metric}", metric)
    rng = np.random.default_rng(5)
    items = [
        {"id": f"m{i}", "values": rng.standard_normal(4).tolist(), "metadata": meta}
        for i, meta in enumerate(METADATA)
    ]
    vectors.upsert(ORG, WS, index_id, items)
    query = rng.standard_normal(4).tolist()

    def ids(flt: dict[str, Any]) -> set[str]:
        return {m["id"] for m in vectors.search(ORG, WS, index_id, query, 100, flt, False)}

    assert ids({"n": 1}) == {"m0", "m1"}  # 1 equals 1.0; true is not a number
    assert ids({"n": True}) == {"m2"}
    assert ids({"tag": ["a", "b"]}) == {"m3"}
    assert ids({"tag": {"k": [1, 2]}}) == {"m4"}
    assert ids({"tag": None}) == {"m5", "m6", "m7"}  # null, a missing key and no metadata
    assert ids({"tag": "a", "n": 1}) == {"m0", "m1"}
    assert ids({}) == {f"m{i}" for i in range(len(METADATA))}


def test_values_come_back_exactly_and_replacing_keeps_one_copy(vectors: VectorBackend) -> None:
    index_id = _index(vectors, "values", "euclidean", 3)
    first = np.asarray([0.1, 1e-30, -12345.678], dtype=np.float32)
    vectors.upsert(ORG, WS, index_id, [{"id": "x", "values": first.tolist(), "metadata": {"v": 1}}])
    second = np.asarray([0.2, 0.3, 0.4], dtype=np.float32)
    answer = vectors.upsert(ORG, WS, index_id, [{"id": "x", "values": second.tolist(), "metadata": {"v": 2}}])
    assert answer == {"upserted": 1, "count": 1}
    (match,) = vectors.search(ORG, WS, index_id, second.tolist(), 5, None, True)
    assert match["values"] == second.tolist() and match["metadata"] == {"v": 2} and match["score"] == 0.0


def test_deletes_count_what_existed_and_drop_removes_everything(vectors: VectorBackend) -> None:
    index_id = _index(vectors, "deletes", "dot", 2)
    vectors.upsert(ORG, WS, index_id, [{"id": n, "values": [1.0, 0.0]} for n in ("a", "b", "c")])
    assert vectors.delete(ORG, WS, index_id, ["a", "a", "zz"]) == 1
    assert [m["id"] for m in vectors.search(ORG, WS, index_id, [1.0, 0.0], 10, None, False)] == ["b", "c"]
    vectors.drop(ORG, WS, index_id)
    again = _index(vectors, "deletes", "dot", 2)
    assert vectors.get(ORG, WS, again)["count"] == 0


def test_a_zero_vector_scores_zero_by_cosine(vectors: VectorBackend) -> None:
    index_id = _index(vectors, "zero", "cosine", 2)
    vectors.upsert(
        ORG, WS, index_id, [{"id": "zero", "values": [0.0, 0.0]}, {"id": "away", "values": [-1.0, 0.0]}]
    )
    found = vectors.search(ORG, WS, index_id, [1.0, 0.0], 2, None, False)
    assert [(m["id"], m["score"]) for m in found] == [("zero", 0.0), ("away", -1.0)]


def test_memory_recall_filters_as_json_and_forgets(platform: Platform) -> None:
    memory = platform.backend(MemoryBackend)

    async def scenario() -> None:
        for text, meta in [
            ("the cat sat on the mat", {"kind": "pet", "n": 1}),
            ("a dog barked", {"kind": "pet", "n": True}),
            ("quarterly revenue grew", {"kind": "finance"}),
        ]:
            await memory.store(ORG, WS, "notes", text, meta)
        found = await memory.recall(ORG, WS, "notes", "cat on a mat", 3, None)
        assert found[0]["content"] == "the cat sat on the mat"
        assert [m["score"] for m in found] == sorted((m["score"] for m in found), reverse=True)
        pets = await memory.recall(ORG, WS, "notes", "animal", 5, {"n": 1.0})
        assert [m["content"] for m in pets] == ["the cat sat on the mat"]
        assert memory.forget(ORG, WS, "notes", [found[0]["id"]]) == 1
        left = await memory.recall(ORG, WS, "notes", "cat on a mat", 5, None)
        assert found[0]["id"] not in {m["id"] for m in left} and len(left) == 2

    asyncio.run(scenario())


def test_a_vector_written_on_one_replica_is_found_on_another(tmp_path: Path, platform: Platform) -> None:
    if not _on_postgres():
        pytest.skip("replicas share vectors through PostgreSQL (nox -s cluster)")
    replica_dir = tmp_path / "replica"
    replica_dir.mkdir(mode=0o700)
    shared = replica_dir / SEALING_KEY_FILE  # the same secret on both replicas
    shared.write_bytes(platform.settings.sealing_key)
    shared.chmod(0o600)
    other = Platform(Settings.load(replica_dir))
    try:
        mine, theirs = platform.backend(VectorBackend), other.backend(VectorBackend)
        index_id = _index(mine, "replicated", "cosine", 2)
        assert theirs.search(ORG, WS, index_id, [1.0, 0.0], 1, None, False) == []
        mine.upsert(ORG, WS, index_id, [{"id": "new", "values": [1.0, 0.0]}])
        assert [m["id"] for m in theirs.search(ORG, WS, index_id, [1.0, 0.0], 1, None, False)] == ["new"]
    finally:
        other.close()


def _clustered(count: int, dimensions: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dimensions))
    picks = centres[rng.integers(0, len(centres), count)]
    return (picks + 0.3 * rng.standard_normal((count, dimensions))).astype(np.float32)


def _true_top(data: np.ndarray, query: np.ndarray, k: int) -> list[str]:
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    return [f"v{i}" for i in np.argsort(-(unit @ (query / np.linalg.norm(query))), kind="stable")[:k]]


def _hnsw_scans(platform: Platform, index_id: str) -> int:
    name = "vector_hnsw_" + index_id.replace("-", "")
    row = platform.db.query_one("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = ?", (name,))
    assert row is not None, f"no HNSW index {name}"
    return int(row[0])


def test_an_hnsw_index_recalls_most_of_the_true_top_ten(platform: Platform, vectors: VectorBackend) -> None:
    data = _clustered(3000, 32, seed=9)
    queries = _clustered(20, 32, seed=10)
    created = vectors.create(ORG, WS, "graph", 32, "cosine", "hnsw")
    assert created["search"] == "hnsw"
    index_id = str(created["id"])
    for start in range(0, len(data), 1000):
        chunk = [{"id": f"v{start + i}", "values": row} for i, row in enumerate(data[start : start + 1000])]
        vectors.upsert(ORG, WS, index_id, chunk)
    before = _hnsw_scans(platform, index_id) if _on_postgres() else 0
    hits = 0
    for query in queries:
        found = vectors.search(ORG, WS, index_id, query.tolist(), 10, None, False)
        hits += len({m["id"] for m in found} & set(_true_top(data, query, 10)))
    recall = hits / (10 * len(queries))
    assert recall >= 0.9 if _on_postgres() else recall == 1.0
    # A filter, or more results than one graph walk gives, is answered exactly.
    wide = HNSW_MAX_RESULTS + 1
    assert [m["id"] for m in vectors.search(ORG, WS, index_id, queries[0].tolist(), wide, None, False)] == (
        _true_top(data, queries[0], wide)
    )
    filtered = vectors.search(ORG, WS, index_id, queries[0].tolist(), 10, {"absent": None}, False)
    assert [m["id"] for m in filtered] == _true_top(data, queries[0], 10)
    if _on_postgres():
        deadline = time.monotonic() + 10
        while _hnsw_scans(platform, index_id) - before < len(queries) and time.monotonic() < deadline:
            time.sleep(0.2)  # the statistics reach the view asynchronously
        assert _hnsw_scans(platform, index_id) - before == len(queries)
        vectors.drop(ORG, WS, index_id)
        assert (
            platform.db.query_one(
                "SELECT 1 FROM pg_indexes WHERE indexname = ?", ("vector_hnsw_" + index_id.replace("-", ""),)
            )
            is None
        )


def test_an_hnsw_index_is_refused_beyond_its_dimensions(vectors: VectorBackend) -> None:
    with pytest.raises(ApiError) as refused:
        vectors.create(ORG, WS, "too-wide", HNSW_MAX_DIMENSIONS + 1, "cosine", "hnsw")
    assert (refused.value.status, refused.value.field) == (400, "dimensions")
    assert vectors.create(ORG, WS, "wide", HNSW_MAX_DIMENSIONS + 1, "cosine")["search"] == "exact"


def test_memories_stored_before_pgvector_are_recalled(platform: Platform) -> None:
    if not _on_postgres():
        pytest.skip("only a PostgreSQL database has a pgvector table to fill")
    embedded = asyncio.run(platform.backend(GatewayBackend).embed(EMBEDDING_MODEL, ["an earlier release"]))
    vector = np.asarray(embedded[0], dtype=np.float32)
    platform.db.execute(
        "INSERT INTO memories (id, org_id, workspace_id, namespace, content, metadata, vec, created_at)"
        " VALUES (?,?,?,?,?,?,?,?)",
        ("old-1", ORG, WS, "old", "from an earlier release", None, vector.tobytes(), "2026-01-01T00:00:00Z"),
    )
    MemoryBackend(platform)  # a restart: the backend fills the pgvector table
    row = platform.db.query_one("SELECT embedding::real[] FROM memory_embeddings WHERE id = ?", ("old-1",))
    assert row is not None and np.array_equal(np.asarray(row[0], dtype=np.float32), vector)

    async def recalled() -> list[dict[str, Any]]:
        return await platform.backend(MemoryBackend).recall(ORG, WS, "old", "anything", 5, None)

    assert [m["id"] for m in asyncio.run(recalled())] == ["old-1"]
