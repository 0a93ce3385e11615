"""Fixed per-request cost of the platform: ``.venv/bin/python tests/local/bench_request_overhead.py``.

Starts ``LocalPlatform(subprocess=True)`` (the server in its own process, as deployed), then times
``--gets`` state reads (``GET .../state/{component}/keys/k``) and ``--queries`` ``top_k=5``
searches on a ``--rows`` x 384 vector index loaded through the API; prints the medians in ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
import numpy as np

from flow_local.harness import LocalPlatform

DIMENSIONS = 384
CHUNK = 10_000


def _median_ms(client: httpx.Client, method: str, url: str, bodies: list[object | None]) -> float:
    timings = []
    for body in bodies:
        started = time.perf_counter()
        response = client.request(method, url, json=body)
        timings.append(time.perf_counter() - started)
        response.raise_for_status()
    return statistics.median(timings) * 1000


def _load_index(client: httpx.Client, ws: str, rows: int, rng: np.random.Generator) -> tuple[str, np.ndarray]:
    index = client.post(f"{ws}/vector/indexes", json={"name": "bench", "dimensions": DIMENSIONS}).json()
    data = rng.standard_normal((rows, DIMENSIONS)).astype(np.float32)
    for start in range(0, rows, CHUNK):
        chunk = [
            {"id": f"v{start + i}", "values": row.tolist()}
            for i, row in enumerate(data[start : start + CHUNK])
        ]
        client.post(f"{ws}/vector/indexes/{index['id']}/upsert", json={"vectors": chunk}).raise_for_status()
    return str(index["id"]), data


def main() -> None:
    """Run the measurement and print the medians in milliseconds."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--gets", type=int, default=500)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with LocalPlatform(subprocess=True) as lp:
        ws = f"/api/v1/orgs/{lp.org_id}/workspaces/{lp.workspace_id}"
        headers = {"Authorization": f"Bearer {lp.admin_token}"}
        with httpx.Client(base_url=lp.url, headers=headers, timeout=60) as client:
            key_url = f"{ws}/state/bench-component/keys/k"
            client.put(key_url, json={"value": {"n": 1}}).raise_for_status()
            _median_ms(client, "GET", key_url, [None] * 50)
            get_ms = _median_ms(client, "GET", key_url, [None] * args.gets)
            index_id, data = _load_index(client, ws, args.rows, rng)
            picks = rng.integers(0, args.rows, args.queries)
            queries = [
                (data[i] + 0.1 * rng.standard_normal(DIMENSIONS)).astype(np.float32).tolist() for i in picks
            ]
            url = f"{ws}/vector/indexes/{index_id}/search"
            _median_ms(client, "POST", url, [{"query_embedding": q, "top_k": 5} for q in queries[:3]])
            search_ms = _median_ms(client, "POST", url, [{"query_embedding": q, "top_k": 5} for q in queries])
    print(f"state GET x{args.gets}: median {get_ms:.3f} ms")
    print(f"vector search {args.rows} x {DIMENSIONS} top 5 x{args.queries}: median {search_ms:.2f} ms")


if __name__ == "__main__":
    main()
