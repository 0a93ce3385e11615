"""Streamed uploads (path, file object, iterators, progress) and downloads to disk, on the local platform."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from flow_local.harness import LocalPlatform
from flow_sdk import FlowSDK, FlowSDKError
from flow_sdk.sync_flow_sdk import SyncFlowSDK

HERE = Path(__file__).parent
BODY = bytes(range(256)) * 8192  # 2 MiB, more than one piece
GIB = 1024**3


async def test_upload_file_takes_a_path_a_file_object_and_iterators(flow: FlowSDK, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(BODY)

    def pieces() -> Iterator[bytes]:
        yield BODY[:1000]
        yield BODY[1000:]

    async def async_pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(BODY), 300_000):
            yield BODY[start : start + 300_000]

    with source.open("rb") as handle:
        handle.seek(10)
        from_file = await flow.storage.upload_file("s/file", handle)
    from_path = await flow.storage.upload_file("s/path", source, content_type="application/x-test")
    from_str = await flow.storage.upload_file("s/str", str(source))
    from_iter = await flow.storage.upload_file("s/iter", pieces())
    from_async = await flow.storage.upload_file("s/async", async_pieces())
    assert from_path["content_type"] == "application/x-test"
    assert from_file["size"] == len(BODY) - 10
    assert await flow.storage.download("s/file") == BODY[10:]
    for key in ("s/path", "s/str", "s/iter", "s/async"):
        assert await flow.storage.download(key) == BODY, key
    assert from_path["etag"] == from_iter["etag"] == from_async["etag"] == from_str["etag"]


async def test_progress_counts_up_to_the_size(flow: FlowSDK, tmp_path: Path) -> None:
    up: list[int] = []
    down: list[int] = []
    await flow.storage.upload_file("p/obj", io.BytesIO(BODY), progress=up.append)
    written = await flow.storage.download_to("p/obj", tmp_path / "out.bin", progress=down.append)
    assert written == len(BODY) == up[-1] == down[-1]
    assert len(up) > 1 and up == sorted(up)
    assert down == sorted(down)
    assert (tmp_path / "out.bin").read_bytes() == BODY


async def test_download_to_a_missing_key_leaves_the_file_as_it_was(flow: FlowSDK, tmp_path: Path) -> None:
    target = tmp_path / "kept.txt"
    target.write_text("before")
    with pytest.raises(FlowSDKError) as caught:
        await flow.storage.download_to("no/such/object", target)
    assert caught.value.status_code == 404
    assert target.read_text() == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


async def test_upload_file_refuses_bytes_and_wrong_pieces_by_name(flow: FlowSDK) -> None:
    with pytest.raises(FlowSDKError, match="use upload\\(\\) for bytes"):
        await flow.storage.upload_file("w/bytes", b"abc")  # type: ignore[arg-type]
    with pytest.raises(FlowSDKError, match="must yield bytes, got str"):
        await flow.storage.upload_file("w/str", iter(["text"]))  # type: ignore[list-item, arg-type]


def round_trip(env: dict[str, str], size: int, directory: Path) -> dict[str, int | bool]:
    """Run the round trip in a fresh interpreter; return what it printed."""
    result = subprocess.run(
        [sys.executable, str(HERE / "streamed_round_trip.py"), str(size), str(directory)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures: dict[str, int | bool] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.slow
def test_a_gibibyte_round_trips_with_bounded_client_memory(tmp_path: Path) -> None:
    size = GIB
    with LocalPlatform(max_object_bytes=2 * GIB) as platform:
        figures = round_trip(platform.env(), size, tmp_path)
    assert figures["hashes_match"]
    assert figures["stored_size"] == figures["written"] == figures["last_progress"] == size
    growth_kib = int(figures["peak_kib_after"]) - int(figures["peak_kib_before"])
    print(f"streamed round trip of {size} bytes: client peak RSS growth {growth_kib} KiB")
    assert growth_kib < 64 * 1024, figures


def test_the_sync_twin_streams_files_too(runtime_env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "in.bin"
    source.write_bytes(BODY)
    with SyncFlowSDK() as flow:
        stored = flow.storage.upload_file("sync/obj", source)
        written = flow.storage.download_to("sync/obj", tmp_path / "out.bin")
    assert stored["size"] == written == len(BODY)
    assert (tmp_path / "out.bin").read_bytes() == BODY
