"""Request bodies and parameters: the generated builders and the checks the SDK runs before sending."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from flow_sdk._errors import FlowSDKError
from flow_sdk._executions import batch_request, single_request, submission
from flow_sdk._generated.client.enums import COMPONENT_TYPE
from flow_sdk._generated.client.executions import build_get_execution_result_request
from flow_sdk._generated.client.state import build_get_state_value_request, build_set_state_value_request
from flow_sdk._generated.client.storage import (
    build_download_storage_object_request,
    build_upload_storage_object_request,
)
from flow_sdk._generated.types import ComponentCreate, DatasetVectorQuery
from flow_sdk._requests import checked_body, choose, request_options


@pytest.mark.parametrize(
    ("schema", "data", "word"),
    [
        (ComponentCreate, {"spec": {}}, "name"),
        (DatasetVectorQuery, {"embedding": [0.1]}, "vector_field"),
    ],
)
def test_a_body_missing_a_required_key_names_it(schema: type, data: dict[str, Any], word: str) -> None:
    with pytest.raises(FlowSDKError) as caught:
        checked_body(data, schema)
    assert schema.__name__ in str(caught.value) and word in str(caught.value)
    assert caught.value.code == "invalid_request"


def test_an_enum_value_outside_the_document_is_refused_with_the_allowed_values() -> None:
    assert choose("agent", COMPONENT_TYPE, "component_type") == "agent"
    with pytest.raises(FlowSDKError) as caught:
        choose("robot", COMPONENT_TYPE, "component_type")
    assert "component_type must be one of" in str(caught.value) and "code_block" in str(caught.value)


def test_storage_keys_keep_their_slashes_and_other_parameters_are_fully_quoted() -> None:
    download = build_download_storage_object_request("org-1", "reports/q4.pdf")
    assert download.path == "/api/v1/orgs/org-1/storage/objects/reports/q4.pdf"
    assert download.response == "bytes" and download.params is None
    state = build_get_state_value_request("org 1", "ws", "comp", "a/b")
    assert state.path.endswith("/state/comp/keys/a%2Fb") and "/orgs/org%201/" in state.path


def test_upload_sends_raw_bytes_with_the_callers_content_type() -> None:
    upload = build_upload_storage_object_request(
        "o", "k.pdf", content=b"%PDF", content_type="application/pdf"
    )
    options = request_options(upload)
    assert options == {"content": b"%PDF", "headers": {"Content-Type": "application/pdf"}}
    assert upload.method == "PUT" and upload.idempotent


def test_a_json_null_value_is_sent_as_null() -> None:
    request = build_set_state_value_request("o", "w", "c", "k", body={"value": None})
    sent = httpx.Request(request.method, "http://x" + request.path, **request_options(request))
    assert sent.content == b'{"value":null}'


def test_query_parameters_carry_the_documents_defaults() -> None:
    request = build_get_execution_result_request("o", "w", "e")
    assert request.params == {"wait_seconds": 0}


def test_submissions_carry_an_idempotency_key_and_agents_run_isolated() -> None:
    agent = single_request(
        "o", "w", submission("agent", "a1", {"x": 1}, ring_id="r", lifecycle_event="agent_run")
    )
    block_item = submission("code_block", "c1", None, ring_id="r", lifecycle_event="workflow")
    block = single_request("o", "w", block_item)
    inline = submission(
        "agent", "a1", None, ring_id="r", lifecycle_event="agent_run", execution_mode="inline"
    )
    assert agent.json["execution_mode"] == "isolated" and "execution_mode" not in block.json
    assert inline["execution"]["execution_mode"] == "inline"
    assert agent.headers is not None and len(agent.headers["Idempotency-Key"]) == 32
    assert block.headers is not None and block.headers["Idempotency-Key"] != agent.headers["Idempotency-Key"]
    assert block.headers["Idempotency-Key"] == block_item["idempotency_key"]
    batch = batch_request("o", "w", [block_item, inline])
    assert batch.path == "/api/v1/orgs/o/workspaces/w/execution-submissions"
    assert [entry["idempotency_key"] for entry in batch.json["submissions"]] == [
        block_item["idempotency_key"],
        inline["idempotency_key"],
    ]
    with pytest.raises(FlowSDKError, match="component_type must be one of"):
        submission("tool", "t1", None, ring_id="r", lifecycle_event="workflow")
