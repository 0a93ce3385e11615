"""Round-trip an object generated on the fly through upload_file and download_to; print memory figures.

Run as ``python tests/e2e/streamed_round_trip.py SIZE_BYTES DIRECTORY`` with the runtime variables of a
platform in the environment. Prints one JSON line: the size, whether the hashes matched, the progress
reports, and the peak resident memory (VmHWM, KiB) before and after the round trip.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from flow_sdk import FlowSDK

PIECE = 1024 * 1024


def peak_kib() -> int:
    """This process's peak resident set size so far (VmHWM), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


async def generated(size: int, digest: hashlib._Hash) -> AsyncIterator[bytes]:
    """``size`` pseudo-random bytes in pieces, hashed as they go out."""
    rng = random.Random(14)
    left = size
    while left:
        piece = rng.randbytes(min(PIECE, left))
        digest.update(piece)
        left -= len(piece)
        yield piece


async def main(size: int, directory: Path) -> dict[str, object]:
    reports: list[int] = []
    async with FlowSDK() as flow:
        await flow.storage.upload("warm-up", b"x")
        await flow.storage.download_to("warm-up", directory / "warm-up")
        before = peak_kib()
        sent = hashlib.sha256()
        stored = await flow.storage.upload_file(
            "big/object.bin", generated(size, sent), progress=reports.append
        )
        written = await flow.storage.download_to("big/object.bin", directory / "object.bin")
        after = peak_kib()
        await flow.storage.delete("big/object.bin")
    received = hashlib.sha256()
    with open(directory / "object.bin", "rb") as handle:
        while piece := handle.read(PIECE):
            received.update(piece)
    return {
        "size": size,
        "stored_size": stored["size"],
        "written": written,
        "hashes_match": sent.hexdigest() == received.hexdigest(),
        "last_progress": reports[-1] if reports else 0,
        "progress_reports": len(reports),
        "peak_kib_before": before,
        "peak_kib_after": after,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1]), Path(sys.argv[2])))))
