"""Vector search through the API: exact answers (against a float64 brute force) and speed (against numpy)."""

from __future__ import annotations

import statistics
import time

import httpx
import numpy as np
import pytest

from flow_local.areas import vector
from flow_local.areas.vector import MatrixIndex, VectorBackend
from flow_local.harness import LocalPlatform


def _brute_force(data: np.ndarray, query: np.ndarray, metric: str, k: int) -> tuple[list[int], np.ndarray]:
    """The exact top ``k`` in float64 (ties by position) and their scores (euclidean: distances)."""
    rows, wide = data.astype(np.float64), query.astype(np.float64)
    if metric == "euclidean":
        distances = np.sqrt(((rows - wide) ** 2).sum(axis=1))
        order = np.argsort(distances, kind="stable")[:k]
        return order.tolist(), distances[order]
    scores = rows @ wide
    if metric == "cosine":
        scores = scores / (np.linalg.norm(rows, axis=1) * np.linalg.norm(wide))
    order = np.argsort(-scores, kind="stable")[:k]
    return order.tolist(), scores[order]


def _make_index(client: httpx.Client, ws_path: str, name: str, data: np.ndarray, metric: str) -> str:
    index = client.post(
        f"{ws_path}/vector/indexes", json={"name": name, "dimensions": data.shape[1], "metric": metric}
    ).json()
    for start in range(0, len(data), 1000):
        vectors = [
            {"id": f"v{start + i}", "values": row.tolist(), "metadata": {"even": (start + i) % 2 == 0}}
            for i, row in enumerate(data[start : start + 1000])
        ]
        answer = client.post(f"{ws_path}/vector/indexes/{index['id']}/upsert", json={"vectors": vectors})
        assert answer.status_code == 200, answer.text
    return str(index["id"])


@pytest.mark.parametrize("metric", ["cosine", "dot", "euclidean"])
def test_search_equals_float64_brute_force(client: httpx.Client, ws_path: str, metric: str) -> None:
    rng = np.random.default_rng(7)
    data = rng.standard_normal((3000, 48)).astype(np.float32)
    data[100] = data[7]  # an exact tie: the earlier row comes first
    index_id = _make_index(client, ws_path, f"exact-{metric}", data, metric)
    queries = [data[7], *(rng.standard_normal((15, 48)).astype(np.float32))]
    for query in queries:
        found = client.post(
            f"{ws_path}/vector/indexes/{index_id}/search",
            json={"query_embedding": query.tolist(), "top_k": 10},
        ).json()["matches"]
        order, scores = _brute_force(data, query, metric, 10)
        assert [m["id"] for m in found] == [f"v{i}" for i in order]
        assert np.allclose([m["score"] for m in found], scores, rtol=1e-9, atol=1e-9)
    even = client.post(
        f"{ws_path}/vector/indexes/{index_id}/search",
        json={"query_embedding": queries[1].tolist(), "top_k": 5, "filter": {"even": True}},
    ).json()["matches"]
    order, _ = _brute_force(data[::2], queries[1], metric, 5)
    assert [m["id"] for m in even] == [f"v{2 * i}" for i in order]


def _top_values(scores: np.ndarray, wanted: int) -> list[float]:
    """The ``wanted`` highest scores (NaN counting as none), highest first."""
    finite = scores[~np.isnan(scores)]
    return sorted(finite.tolist(), reverse=True)[:wanted]


@pytest.mark.parametrize("size", [10, 200, 5000, 100_000])
def test_candidates_hold_the_highest_scores(size: int) -> None:
    rng = np.random.default_rng(size)
    random = rng.standard_normal(size).astype(np.float32)
    ties = np.round(random, 1)  # few distinct values: many ties at the threshold
    filtered = random.copy()
    filtered[rng.random(size) < 0.9] = -np.inf  # a metadata filter left one score in ten
    rising = np.arange(size, dtype=np.float32)  # the highest all after the last sampled one
    with_nan = random.copy()
    with_nan[:: max(1, size // 50)] = np.nan  # an overflowed euclidean score
    for scores in (random, ties, filtered, rising, with_nan):
        for wanted in (1, 21, 300):
            found = vector.candidate_positions(scores, wanted)
            assert len(set(found.tolist())) == len(found)
            expected = _top_values(scores, wanted)
            chosen = sorted(scores[found][~np.isnan(scores[found])].tolist(), reverse=True)[: len(expected)]
            assert chosen == expected


def test_a_big_index_answers_like_a_brute_force_search() -> None:
    rng = np.random.default_rng(3)
    data = rng.standard_normal((5000, 16)).astype(np.float32)
    data[4000] = data[17]  # an exact tie: the earlier row comes first
    index = MatrixIndex(16, "euclidean")
    for i, row in enumerate(data):
        index.put(f"v{i}", row, None)
    for query in (data[17], *rng.standard_normal((5, 16)).astype(np.float32)):
        assert [p for p, _ in index.search(query, 5, None)] == _brute_force(data, query, "euclidean", 5)[0]


def test_search_rejects_bad_bodies(client: httpx.Client, ws_path: str) -> None:
    index = client.post(f"{ws_path}/vector/indexes", json={"name": "bodies", "dimensions": 2}).json()
    url = f"{ws_path}/vector/indexes/{index['id']}/search"
    wrong = client.post(url, json={"query_embedding": [1, 0], "top_k": 0})
    assert wrong.status_code == 400 and wrong.json()["field"] == "top_k"
    broken = client.post(url, content=b"{", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and "JSON" in broken.json()["detail"]
    text = client.post(url, content=b"hello", headers={"content-type": "text/plain"})
    assert text.status_code == 400 and "application/json" in text.json()["detail"]
    dims = client.post(url, json={"query_embedding": [1, 0, 0]})
    assert dims.status_code == 400 and dims.json()["field"] == "query_embedding"


def test_search_100k_by_384_matches_bare_numpy(
    local: LocalPlatform, client: httpx.Client, ws_path: str
) -> None:
    """Top-5 over 100,000 x 384 through the API gives exactly the bare numpy answer.

    The medians are printed for information only; the timed comparison against numpy, with its
    ratio, is the ``vector`` row of ``nox -s bench`` (a shared machine makes timing asserts flaky).
    """
    assert local.platform is not None
    index = client.post(f"{ws_path}/vector/indexes", json={"name": "big", "dimensions": 384}).json()
    rng = np.random.default_rng(0)
    data = rng.standard_normal((100_000, 384)).astype(np.float32)
    backend = local.platform.backend(VectorBackend)
    for start in range(0, 100_000, 10_000):  # in-process bulk load; the queries go over HTTP
        chunk = [{"id": f"v{start + i}", "values": row} for i, row in enumerate(data[start : start + 10_000])]
        backend.upsert(local.org_id, local.workspace_id, index["id"], chunk)
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    url = f"{ws_path}/vector/indexes/{index['id']}/search"
    api, bare = [], []
    for i in range(31):
        query = data[i * 1000]
        started = time.perf_counter()
        found = client.post(url, json={"query_embedding": query.tolist(), "top_k": 5}).json()["matches"]
        api.append(time.perf_counter() - started)
        started = time.perf_counter()
        best = np.argpartition(unit @ query, -5)[-5:]
        bare.append(time.perf_counter() - started)
        assert {m["id"] for m in found} == {f"v{j}" for j in best.tolist()}
        assert found[0]["id"] == f"v{i * 1000}"
    api_ms, bare_ms = statistics.median(api) * 1000, statistics.median(bare) * 1000
    print(f"vector search 100k x 384 top-5: API median {api_ms:.1f} ms, bare numpy median {bare_ms:.1f} ms")
