"""Measure executions on a fresh local platform: submit → result latency and throughput.

python -m flow_local.runtime.bench [--runs 50] [--burst 50] [--workers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from flow_local.platform import LocalPlatform

TRIVIAL = "def main(x: int) -> int:\n    return x + 1\n"


async def measure(runs: int, burst: int) -> dict[str, float]:
    """Latency of sequential ``flow.code_blocks.run`` calls and throughput of a burst submitted at once."""
    from flow_sdk import FlowSDK

    flow = FlowSDK()
    import httpx

    base = f"{os.environ['PLATFORM_API_URL']}/api/v1/orgs/{os.environ['ORG_ID']}/workspaces/{os.environ['WORKSPACE_ID']}"
    headers = {"Authorization": f"Bearer {os.environ['AUTH_TOKEN']}"}
    httpx.post(
        f"{base}/components/code_block",
        json={"id": "bench-trivial", "name": "trivial", "spec": {"source": TRIVIAL}},
        headers=headers,
    )
    for index in range(5):
        await flow.code_blocks.run(
            code_block_id="bench-trivial", input_parameters={"x": index}, result_mode="output"
        )
    latencies = []
    for index in range(runs):
        started = time.perf_counter()
        await flow.code_blocks.run(
            code_block_id="bench-trivial", input_parameters={"x": index}, result_mode="output"
        )
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    await asyncio.gather(
        *(
            flow.code_blocks.run(
                code_block_id="bench-trivial", input_parameters={"x": i}, result_mode="output"
            )
            for i in range(burst)
        )
    )
    elapsed = time.perf_counter() - started
    await flow.close()
    return {
        "median_ms": statistics.median(latencies) * 1000,
        "p90_ms": sorted(latencies)[int(runs * 0.9)] * 1000,
        "burst": burst,
        "burst_seconds": elapsed,
        "executions_per_second": burst / elapsed,
    }


def main() -> None:
    """Start a platform, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    os.environ["FLOW_LOCAL_RUNNER_WORKERS"] = str(args.workers)
    with LocalPlatform() as platform:
        os.environ.update(platform.env())
        os.environ["RING_ID"] = platform.ring_id
        figures = asyncio.run(measure(args.runs, args.burst))
    print(
        f"trivial code block via flow.code_blocks.run: median {figures['median_ms']:.1f} ms, p90 {figures['p90_ms']:.1f} ms;"
        f" {figures['burst']:.0f} submitted at once: {figures['burst_seconds']:.2f} s,"
        f" {figures['executions_per_second']:.0f} executions/s ({args.workers} workers)"
    )


if __name__ == "__main__":
    main()
