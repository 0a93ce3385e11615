"""Vector search timings through the API on loopback: ``.venv/bin/python tests/local/bench_vector_search.py``.

Starts a local platform, loads a 1,000-row and a 100,000-row index of 384 dimensions (in process),
then times ``top_k=5`` searches over HTTP (median of ``--queries`` runs) and the bare numpy search
on the same matrix, and checks every answer against an exact float64 search.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
import numpy as np

from flow_local.areas.vector import VectorBackend
from flow_local.harness import LocalPlatform

DIMENSIONS = 384


def _load(lp: LocalPlatform, client: httpx.Client, ws: str, name: str, data: np.ndarray) -> str:
    index = client.post(f"{ws}/vector/indexes", json={"name": name, "dimensions": DIMENSIONS}).json()
    assert lp.platform is not None
    backend = lp.platform.backend(VectorBackend)
    for start in range(0, len(data), 10_000):
        chunk = [{"id": f"v{start + i}", "values": row} for i, row in enumerate(data[start : start + 10_000])]
        backend.upsert(lp.org_id, lp.workspace_id, index["id"], chunk)
    return str(index["id"])


def _exact_top(data: np.ndarray, query: np.ndarray, k: int) -> list[str]:
    rows = data.astype(np.float64)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    scores = rows @ (query / np.linalg.norm(query))
    return [f"v{i}" for i in np.argsort(-scores, kind="stable")[:k]]


def _time_http(client: httpx.Client, url: str, queries: list[list[float]]) -> tuple[float, list[list[str]]]:
    timings, answers = [], []
    for query in queries:
        started = time.perf_counter()
        response = client.post(url, json={"query_embedding": query, "top_k": 5})
        timings.append(time.perf_counter() - started)
        answers.append([m["id"] for m in response.json()["matches"]])
    return statistics.median(timings) * 1000, answers


def main() -> None:
    """Run the measurement and print the medians in milliseconds."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    small = rng.standard_normal((1_000, DIMENSIONS)).astype(np.float32)
    big = rng.standard_normal((args.rows, DIMENSIONS)).astype(np.float32)
    picks = rng.integers(0, args.rows, args.queries)
    queries = [(big[i] + 0.1 * rng.standard_normal(DIMENSIONS)).astype(np.float32) for i in picks]
    with LocalPlatform() as lp:
        ws = f"/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
        headers = {"Authorization": f"Bearer {lp.admin_token}"}
        with httpx.Client(base_url=lp.url, headers=headers, timeout=30) as client:
            small_id = _load(lp, client, ws, "small", small)
            big_id = _load(lp, client, ws, "big", big)
            as_lists = [q.tolist() for q in queries]
            _time_http(client, f"{ws}/vector/indexes/{big_id}/search", as_lists[:3])
            small_ms, _ = _time_http(client, f"{ws}/vector/indexes/{small_id}/search", as_lists)
            big_ms, answers = _time_http(client, f"{ws}/vector/indexes/{big_id}/search", as_lists)
    unit = big / np.linalg.norm(big, axis=1, keepdims=True)
    bare = []
    for query in queries:
        started = time.perf_counter()
        scores = unit @ query
        np.argpartition(scores, -5)[-5:]
        bare.append(time.perf_counter() - started)
    exact = sum(a == _exact_top(big, q, 5) for a, q in zip(answers, queries, strict=True))
    print(f"1k x {DIMENSIONS} via HTTP: median {small_ms:.2f} ms (fixed cost per request)")
    print(f"{args.rows} x {DIMENSIONS} via HTTP: median {big_ms:.2f} ms")
    print(f"bare numpy (one thread of the caller): median {statistics.median(bare) * 1000:.2f} ms")
    print(f"exact answers: {exact}/{len(queries)}")


if __name__ == "__main__":
    main()
