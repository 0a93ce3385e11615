"""Large objects: upload a file or a generator of chunks and download to disk, all streamed."""

import asyncio
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from flow_sdk import FlowSDK

MEGABYTE = 1024 * 1024


async def generated_chunks(count: int) -> AsyncIterator[bytes]:
    """Bytes produced on the fly: nothing is held in memory but the current chunk."""
    for index in range(count):
        yield bytes([index % 256]) * MEGABYTE


class Progress:
    """A progress callback: called with the number of bytes moved so far, after each piece."""

    def __init__(self) -> None:
        self.calls = 0
        self.done = 0

    def __call__(self, done: int) -> None:
        self.calls, self.done = self.calls + 1, done


async def main() -> None:
    async with FlowSDK() as flow:
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "export.csv"
            source.write_text("id,name\n" + "".join(f"{i},row {i}\n" for i in range(100_000)))

            # From a path (a binary file object works the same way).
            stored = await flow.storage.upload_file("exports/rows.csv", source, content_type="text/csv")
            print("uploaded", stored["size"], "bytes")

            # From an async iterator of chunks, with a progress callback.
            sent = Progress()
            await flow.storage.upload_file("exports/generated.bin", generated_chunks(8), progress=sent)
            print(f"uploaded {sent.done // MEGABYTE} MiB, progress reported {sent.calls} times")

            # Straight to a file; it appears at the path only once complete.
            target = Path(folder) / "copy.bin"
            received = Progress()
            size = await flow.storage.download_to("exports/generated.bin", target, progress=received)
            print(f"downloaded {size // MEGABYTE} MiB; on disk: {target.stat().st_size == size}")


if __name__ == "__main__":
    asyncio.run(main())
