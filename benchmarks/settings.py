"""How much each benchmark measures: the full run and the quick one (used by the smoke test)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Counts and sizes of one run.

    Attributes:
        quick: Whether this is the quick run (tiny counts, for the smoke test).
        repeats: Timed repeats of each per-call figure.
        calls: Calls in one timed repeat of a per-call figure.
        warmup_calls: Untimed calls before the per-call figures.
        import_repeats: Fresh interpreters started for each import figure.
        stream_chunks: Chat chunks in one streamed answer.
        stream_repeats: Streams read for each streaming figure.
        exec_sleep_seconds: How long the code block of the await_result figure runs.
        exec_repeats: Executions timed for the await_result figure.
        run_warmup: Untimed code block runs before the run figure (warms the runner pool).
        run_repeats: Sequential code block runs timed.
        burst_size: Code block runs submitted at once for the throughput figure.
        burst_repeats: Bursts timed.
        vector_count: Vectors in the searched index.
        vector_dimensions: Dimensions of each vector.
        vector_queries: Searches timed.
        load_clients: Concurrent clients of the state-read load figure.
        load_seconds: Seconds of one timed burst of that figure.
        load_repeats: Bursts timed against each server.
        top_k: Matches asked for per search.
    """

    quick: bool
    repeats: int
    calls: int
    warmup_calls: int
    import_repeats: int
    stream_chunks: int
    stream_repeats: int
    exec_sleep_seconds: float
    exec_repeats: int
    run_warmup: int
    run_repeats: int
    burst_size: int
    burst_repeats: int
    vector_count: int
    vector_dimensions: int
    vector_queries: int
    load_clients: int = 64
    load_seconds: float = 3.0
    load_repeats: int = 3
    top_k: int = 5


FULL = Settings(
    quick=False,
    repeats=41,
    calls=100,
    warmup_calls=200,
    import_repeats=20,
    stream_chunks=5000,
    stream_repeats=15,
    exec_sleep_seconds=2.0,
    exec_repeats=5,
    run_warmup=10,
    run_repeats=40,
    burst_size=500,
    burst_repeats=2,
    vector_count=100_000,
    vector_dimensions=384,
    vector_queries=50,
)

QUICK = Settings(
    quick=True,
    repeats=3,
    calls=20,
    warmup_calls=10,
    import_repeats=2,
    stream_chunks=200,
    stream_repeats=2,
    exec_sleep_seconds=0.2,
    exec_repeats=1,
    run_warmup=1,
    run_repeats=3,
    burst_size=5,
    burst_repeats=1,
    vector_count=1000,
    vector_dimensions=384,
    vector_queries=3,
    load_clients=4,
    load_seconds=0.3,
    load_repeats=1,
)
