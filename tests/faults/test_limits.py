"""Bounded memory and payloads: oversized bodies and inputs get 413 before anything is stored.

The server runs as its own process so its peak resident memory (``VmHWM``) can be read before and
after each oversized request; the figures are printed (``-s``) and bounded, never timed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flow_local.harness import LocalPlatform

MEGABYTE = 1024 * 1024
ALLOWED_GROWTH_BYTES = 200 * MEGABYTE
"""How far the server's peak memory may grow over an oversized request (the body limit is 16 MiB)."""


@pytest.fixture(scope="module")
def server() -> Iterator[LocalPlatform]:
    with LocalPlatform(subprocess=True) as platform:
        yield platform


def _peak_rss(lp: LocalPlatform) -> int:
    assert lp.process is not None
    return _peak_of(str(lp.process.pid))


def _reset_peak(pid: str) -> None:
    """Start a new peak measurement: writing 5 to ``clear_refs`` resets ``VmHWM`` to the current RSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def _peak_of(pid: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def _client(lp: LocalPlatform) -> httpx.Client:
    headers = {"Authorization": f"Bearer {lp.admin_token}"}
    return httpx.Client(base_url=lp.url, headers=headers, timeout=120)


def _oversized_upsert(rows: int, dimensions: int) -> Iterator[bytes]:
    """A vector upsert body streamed in chunks (no Content-Length): ``rows`` vectors of ``dimensions`` floats."""
    vector = ",".join(["0.123456789"] * dimensions)
    yield b'{"vectors": ['
    for row in range(rows):
        yield (("," if row else "") + f'{{"id": "v{row}", "values": [{vector}]}}').encode()
    yield b"]}"


def test_an_oversized_vector_upsert_is_refused_without_growing_the_server(server: LocalPlatform) -> None:
    ws = f"/api/v1/orgs/{server.org_id}/workspaces/{server.workspace_id}"
    with _client(server) as client:
        index = client.post(f"{ws}/vector/indexes", json={"name": "tiny", "dimensions": 3}).json()
        assert server.process is not None
        _reset_peak(str(server.process.pid))
        before = _peak_rss(server)
        try:
            response = client.post(
                f"{ws}/vector/indexes/{index['id']}/upsert",
                content=_oversized_upsert(10_000, 4_096),
                headers={"Content-Type": "application/json"},
            )
        except httpx.RemoteProtocolError:
            response = None
        after = _peak_rss(server)
        print(
            f"\noversized upsert (10,000 x 4,096 floats, streamed): peak RSS {before / MEGABYTE:.0f} MiB -> {after / MEGABYTE:.0f} MiB"
        )
        if response is not None:
            assert response.status_code == 413, response.text
            assert response.json()["code"] == "too_large"
        assert after - before < ALLOWED_GROWTH_BYTES
        assert client.get(f"{ws}/vector/indexes/{index['id']}").json()["count"] == 0


def test_a_declared_oversized_body_is_refused_before_it_is_read(server: LocalPlatform) -> None:
    ws = f"/api/v1/orgs/{server.org_id}/workspaces/{server.workspace_id}"
    with _client(server) as client:
        assert server.process is not None
        _reset_peak(str(server.process.pid))
        before = _peak_rss(server)
        body = b"x" * (17 * MEGABYTE)
        response = client.put(f"{ws}/secrets/BIG", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 413 and response.json()["code"] == "too_large"
        assert client.get(f"{ws}/secrets/BIG").status_code == 404
        print(
            f"\ndeclared 17 MiB JSON body: peak RSS {before / MEGABYTE:.0f} MiB -> {_peak_rss(server) / MEGABYTE:.0f} MiB"
        )


def test_an_oversized_chunked_upload_is_refused_while_it_streams() -> None:
    """128 MiB streamed to storage with a 16 MiB object limit: refused once past it.

    The platform runs in this process here (so the limit can be set); its peak memory is this
    process's. The upload is buffered up to the limit, never past it.
    """
    limit = 16 * MEGABYTE
    with LocalPlatform(max_object_bytes=limit) as lp, _client(lp) as client:
        _reset_peak("self")
        before = _peak_of("self")
        try:
            response = client.put(f"/api/v1/orgs/{lp.org_id}/storage/objects/big.bin", content=chunks_of(128))
            assert response.status_code == 413, response.text
        except (httpx.RemoteProtocolError, httpx.WriteError):
            pass
        after = _peak_of("self")
        print(
            f"\noversized upload (128 MiB streamed, limit 16 MiB): peak RSS {before / MEGABYTE:.0f} MiB -> {after / MEGABYTE:.0f} MiB"
        )
        assert after - before < 4 * limit
        assert client.get(f"/api/v1/orgs/{lp.org_id}/storage/objects/big.bin").status_code == 404
        small = client.put(f"/api/v1/orgs/{lp.org_id}/storage/objects/small.bin", content=chunks_of(3))
        assert small.status_code == 200 and small.json()["size"] == 3 * MEGABYTE


def chunks_of(count: int) -> Iterator[bytes]:
    """``count`` chunks of 1 MiB."""
    for _ in range(count):
        yield b"\1" * MEGABYTE


def _upsert_body(rows: int, dimensions: int, wrong_at: int | None = None) -> bytes:
    """``rows`` vectors of ``dimensions`` floats (the one at ``wrong_at`` has one value too many); each
    carries metadata shaped like a vector record, which must not be mistaken for one."""
    vector = ",".join(["0.123456789"] * dimensions)
    records = [
        f'{{"id": "v{row}", "values": [{vector}{",1.0" if row == wrong_at else ""}], '
        f'"metadata": {{"id": "m", "values": [1]}}}}'
        for row in range(rows)
    ]
    return ('{"vectors": [' + ",".join(records) + "]}").encode()


def test_a_wrong_vector_is_refused_before_the_body_is_decoded_whole(server: LocalPlatform) -> None:
    """300 vectors of 4,096 floats (14 MB, under the body limit): refused at the first wrong one.

    The server's peak memory over the refused body is compared with its peak over the same body
    accepted by a 4,096-dimension index (decoded whole), in the same run. The refused body goes
    first: memory a request frees stays in the process, so the second request's growth is the smaller
    for it, and refusing first can only make the comparison harder to pass (decoding the refused body
    whole, as before the check, grows the server by about as much as accepting it).
    """
    ws = f"/api/v1/orgs/{server.org_id}/workspaces/{server.workspace_id}"
    assert server.process is not None
    pid = str(server.process.pid)
    headers = {"Content-Type": "application/json"}
    with _client(server) as client:
        tiny = client.post(f"{ws}/vector/indexes", json={"name": "tiny-3", "dimensions": 3}).json()
        wide = client.post(f"{ws}/vector/indexes", json={"name": "wide", "dimensions": 4096}).json()
        body = _upsert_body(300, 4096)

        _reset_peak(pid)
        before = _peak_of(pid)
        refused = client.post(f"{ws}/vector/indexes/{tiny['id']}/upsert", content=body, headers=headers)
        refused_growth = _peak_of(pid) - before
        assert refused.status_code == 400, refused.text
        assert (
            refused.json()["field"] == "vectors.0.values"
            and "vector 0 has 4096 values" in refused.json()["detail"]
        )

        _reset_peak(pid)
        before = _peak_of(pid)
        accepted = client.post(f"{ws}/vector/indexes/{wide['id']}/upsert", content=body, headers=headers)
        accepted_growth = _peak_of(pid) - before
        assert accepted.status_code == 200 and accepted.json()["upserted"] == 300, accepted.text

        late = client.post(
            f"{ws}/vector/indexes/{wide['id']}/upsert",
            content=_upsert_body(120, 4096, wrong_at=97),
            headers=headers,
        )
        assert late.status_code == 400 and late.json()["field"] == "vectors.97.values", late.text
        assert client.get(f"{ws}/vector/indexes/{tiny['id']}").json()["count"] == 0
        assert client.get(f"{ws}/vector/indexes/{wide['id']}").json()["count"] == 300
    print(
        f"\n300 x 4,096 floats (14 MB): peak RSS growth refused at vector 0 {refused_growth / MEGABYTE:.0f} MiB,"
        f" accepted (decoded whole) {accepted_growth / MEGABYTE:.0f} MiB"
    )
    assert refused_growth < accepted_growth / 2
