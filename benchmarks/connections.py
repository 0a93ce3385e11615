"""Count this process's open TCP connections to one port (Linux ``/proc``), sampled while work runs."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

ESTABLISHED = "01"
TABLES = ("/proc/self/net/tcp", "/proc/self/net/tcp6")


def socket_inodes() -> set[str]:
    """Inode numbers of the sockets this process holds open."""
    inodes: set[str] = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def open_connections(port: int) -> int:
    """How many established TCP connections this process has to remote ``port``.

    Raises:
        OSError: When ``/proc`` is not there (not Linux).
    """
    mine = socket_inodes()
    count = 0
    for table in TABLES:
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[3] == ESTABLISHED and fields[9] in mine:
                count += 1
    return count


@asynccontextmanager
async def peak_connections(port: int, every: float = 0.005) -> AsyncIterator[list[int]]:
    """Sample `open_connections` while the block runs; yields a list holding the peak once it ends."""
    peak = [open_connections(port)]
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], open_connections(port))
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)

    sampler = asyncio.create_task(sample())
    try:
        yield peak
    finally:
        stop.set()
        await sampler
        peak[0] = max(peak[0], open_connections(port))
