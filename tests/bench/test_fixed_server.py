"""The fixed-response server answers the API document's shapes, over real loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

import flow_local._generated.models as models
from benchmarks.servers import fixed_server
from benchmarks.stats import paired_ratio, summarize

CHUNKS = 7


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """A client of a fixed server started for this module."""
    with fixed_server(CHUNKS) as url, httpx.Client(base_url=url) as http:
        yield http


def test_chat_completion_is_a_valid_chat_completion(client: httpx.Client) -> None:
    body = {"model": "offline/echo", "messages": [{"role": "user", "content": "hi"}]}
    response = client.post("/api/v1/gateway/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["x-request-id"]
    models.ChatCompletion.model_validate(response.json())


def test_streamed_chat_is_valid_chunks_ended_by_done(client: httpx.Client) -> None:
    body = {"model": "offline/echo", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with client.stream("POST", "/api/v1/gateway/v1/chat/completions", json=body) as response:
        assert response.headers["content-type"] == "text/event-stream"
        data = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    assert len(data) == CHUNKS + 1
    for payload in data[:-1]:
        models.ChatCompletionChunk.model_validate(json.loads(payload))


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/api/v1/orgs/o/workspaces/w/state/c/keys/k", models.StateEntry),
        ("/api/v1/orgs/o/workspaces/w/components/code_block/cb", models.Component),
    ],
)
def test_json_reads_are_valid(client: httpx.Client, path: str, model: type) -> None:
    response = client.get(path)
    assert response.status_code == 200
    model.model_validate(response.json())


def test_orgs_are_a_list_of_orgs(client: httpx.Client) -> None:
    for org in client.get("/api/v1/tenants/orgs").json():
        models.Org.model_validate(org)


def test_unknown_path_is_a_404_error_object(client: httpx.Client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    models.Error.model_validate(response.json())


def test_summarize_gives_median_quartiles_and_extremes() -> None:
    stat = summarize([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (stat.median, stat.q1, stat.q3, stat.low, stat.high, stat.n) == (3.0, 2.0, 4.0, 1.0, 5.0, 5)


def test_summarize_refuses_no_samples() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        summarize([])


def test_paired_ratio_divides_side_by_side_samples() -> None:
    assert paired_ratio([2.0, 3.0, 8.0], [1.0, 3.0, 4.0]).median == 2.0
    with pytest.raises(ValueError, match="equal length"):
        paired_ratio([1.0], [1.0, 2.0])
