"""Vector search on the local platform against an exact numpy search of the same data, in this process."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from benchmarks.common import Unavailable, require_method
from benchmarks.report import TIMES, Row, verdict
from benchmarks.settings import Settings
from benchmarks.stats import paired_ratio, summarize

if TYPE_CHECKING:
    import numpy as np

    from benchmarks.cases_local import LocalTarget

RATIO_BAR = 1.10
UPSERT_BATCH = 2_500  # about 8 MB of JSON: under the platform's 16 MiB request body limit
DECIMALS = 4
BLAS_SETTLE_SECONDS = 0.5


def vector_row(settings: Settings) -> Row:
    """The empty row of the vector search figure."""
    return Row(
        key="vector_search",
        figure=(
            f"flow.vector.search, {settings.vector_count:,} {TIMES} {settings.vector_dimensions}, "
            f"top {settings.top_k}, cosine (local platform)"
        ),
        baseline="exact numpy float32 search (same data, this process)",
        unit="ms/query",
        bar=f"exact same results; ≤ {RATIO_BAR:.2f}{TIMES}",
    )


def make_data(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic vectors and queries, rounded so their JSON is short and exact."""
    import numpy as np

    rng = np.random.default_rng(384)
    data = rng.standard_normal((settings.vector_count, settings.vector_dimensions)).round(DECIMALS)
    queries = rng.standard_normal((settings.vector_queries, settings.vector_dimensions)).round(DECIMALS)
    return data, queries


def normalised(data: np.ndarray, dtype: type) -> np.ndarray:
    """Rows of ``data`` in ``dtype``, scaled to unit length."""
    import numpy as np

    typed = data.astype(dtype)
    return typed / np.linalg.norm(typed, axis=1, keepdims=True)


def exact_top_k(unit_data: np.ndarray, query: np.ndarray, k: int) -> list[str]:
    """Ids of the ``k`` best cosine matches, best first (``unit_data`` rows are normalised)."""
    import numpy as np

    typed = query.astype(unit_data.dtype)
    scores = unit_data @ (typed / np.linalg.norm(typed))
    best = np.argpartition(scores, -k)[-k:]
    ordered = best[np.argsort(-scores[best], kind="stable")]
    return [f"v{index}" for index in ordered]


async def upload(target: LocalTarget, index_id: str, data: np.ndarray) -> float:
    """Upsert ``data`` (ids ``v0``...) in batches through the raw client; return seconds taken."""
    path = f"{target.workspace_path}/vector/indexes/{index_id}/upsert"
    start = time.perf_counter()
    for first in range(0, len(data), UPSERT_BATCH):
        batch = data[first : first + UPSERT_BATCH].tolist()
        vectors = [{"id": f"v{first + offset}", "values": values} for offset, values in enumerate(batch)]
        body = json.dumps({"vectors": vectors}, separators=(",", ":")).encode()
        response = await target.raw.post(path, content=body, headers={"content-type": "application/json"})
        if response.status_code != 200:
            raise Unavailable(f"vector upsert answered {response.status_code}: {response.text[:200]}")
    return time.perf_counter() - start


def match_ids(result: Any) -> list[str]:
    """The ids of a search answer, whether it is a `VectorSearchResult` or a list of matches."""
    matches = result["matches"] if isinstance(result, dict) else result
    return [str(match["id"]) for match in matches]


async def settle() -> None:
    """Let BLAS worker threads go idle before a phase.

    OpenBLAS threads keep spinning for a while after a product (here after numpy's, in the server after a
    search) and would take the cores from whatever runs next; phases are therefore timed apart, each
    after this pause.
    """
    await asyncio.sleep(BLAS_SETTLE_SECONDS)


async def sdk_phase(
    search: Any, index_id: str, queries: np.ndarray, top_k: int
) -> tuple[list[float], list[Any]]:
    """Milliseconds per ``flow.vector.search`` of each query, and the answers."""
    await settle()
    times, answers = [], []
    for query in queries:
        start = time.perf_counter()
        answers.append(await search(index_id=index_id, query_embedding=query.tolist(), top_k=top_k))
        times.append((time.perf_counter() - start) * 1000)
    return times, answers


async def raw_phase(target: LocalTarget, path: str, queries: np.ndarray, top_k: int) -> list[float]:
    """Milliseconds per search of each query through the raw httpx client."""
    await settle()
    times = []
    for query in queries:
        body = {"query_embedding": query.tolist(), "top_k": top_k}
        start = time.perf_counter()
        (await target.raw.post(path, json=body)).json()
        times.append((time.perf_counter() - start) * 1000)
    return times


async def numpy_phase(
    unit32: np.ndarray, queries: np.ndarray, top_k: int
) -> tuple[list[float], list[list[str]]]:
    """Milliseconds per exact numpy search of each query in this process, and the ids found."""
    await settle()
    times, expected = [], []
    for query in queries:
        start = time.perf_counter()
        expected.append(exact_top_k(unit32, query, top_k))
        times.append((time.perf_counter() - start) * 1000)
    return times, expected


async def fixed_cost_phase(
    target: LocalTarget, search: Any, index_id: str, queries: np.ndarray, top_k: int
) -> list[float]:
    """Milliseconds per SDK search of a 16-vector index: what a search costs besides its product."""
    await upload(target, index_id, queries[:16])
    times, _answers = await sdk_phase(search, index_id, queries, top_k)
    return times


async def measure_vector_search(target: LocalTarget, settings: Settings) -> Row:
    """Fill the vector row: per-query latency through the SDK, checked against exact numpy results.

    The timed baseline is the same exact search in this process (float32, as the index stores it); the
    results must be identical, id by id and in order. The same query through raw httpx, the SDK's
    search of a tiny index (the cost of a request without the product), and agreement with a float64
    search are reported alongside.
    """
    import numpy as np

    row = vector_row(settings)
    vector = target.flow.vector
    create_index = require_method(vector, "create_index", "flow.vector")
    search = require_method(vector, "search", "flow.vector")
    data, queries = make_data(settings)
    dimensions, top_k = settings.vector_dimensions, settings.top_k
    index = await create_index(name="bench-vectors", dimensions=dimensions, metric="cosine")
    tiny = await create_index(name="bench-vectors-tiny", dimensions=dimensions, metric="cosine")
    index_id = str(index["id"])
    upload_seconds = await upload(target, index_id, data)
    unit32, unit64 = normalised(data, np.float32), normalised(data, np.float64)
    raw_path = f"{target.workspace_path}/vector/indexes/{index_id}/search"
    await search(index_id=index_id, query_embedding=queries[0].tolist(), top_k=top_k)
    sdk_times, answers = await sdk_phase(search, index_id, queries, top_k)
    raw_times = await raw_phase(target, raw_path, queries, top_k)
    numpy_times, expected = await numpy_phase(unit32, queries, top_k)
    fixed_times = await fixed_cost_phase(target, search, str(tiny["id"]), queries, top_k)
    identical = sum(match_ids(answer) == want for answer, want in zip(answers, expected, strict=True))
    agrees64 = sum(
        match_ids(answer) == exact_top_k(unit64, query, top_k)
        for answer, query in zip(answers, queries, strict=True)
    )
    row.value = summarize(sdk_times)
    row.baseline_value = summarize(numpy_times)
    row.ratio = paired_ratio(sdk_times, numpy_times).median
    row.extra = {
        "identical_results": f"{identical}/{len(queries)}",
        "same_as_float64_search": f"{agrees64}/{len(queries)}",
        "raw_httpx_ms_median": round(summarize(raw_times).median, 2),
        "tiny_index_ms_median": round(summarize(fixed_times).median, 2),
        "upsert_seconds": round(upload_seconds, 2),
        "upsert_vectors_per_s": round(len(data) / upload_seconds),
    }
    row.status = verdict(identical == len(queries) and row.ratio <= RATIO_BAR)
    return row
