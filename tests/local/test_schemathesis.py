"""Property-based conformance: every operation of the handwritten document, against the ASGI app in-process.

Checks: no server error, status codes, content types, response headers and response bodies as the
document declares them. Path parameters ``org_id`` and ``workspace_id`` are pinned to the real
default tenancy (and the token is real), so operations are reached rather than refused; the test
counts answers that were not 401/403 to prove it.

Operations of areas wired by other modules (executions, jobs, hosted services and service
invocation, skills) are excluded here while those areas are not part of this module's scope; they
are listed in ``NOT_OWNED``.

``FLOW_SCHEMATHESIS_EXAMPLES`` sets examples per operation (default 4).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from flow_server_models import ChatCompletionChunk
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flow_local.app import create_app
from flow_local.bootstrap import admin_token
from flow_local.settings import Settings
from flow_local.spec import document_path, load_document

EXAMPLES = int(os.environ.get("FLOW_SCHEMATHESIS_EXAMPLES", "4"))
NOT_OWNED_TAGS = {"executions", "jobs"}
OWNED_SERVICE_OPERATIONS = {"mintServiceToken"}

_DATA_DIR = os.environ.get("FLOW_SCHEMATHESIS_DATA_DIR") or __import__("tempfile").mkdtemp(prefix="flow-st-")
APP = create_app(Settings.load(_DATA_DIR, port=8080))
PLATFORM = APP.state.platform
DEFAULTS = PLATFORM.extras["defaults"]
TOKEN = admin_token(PLATFORM, DEFAULTS)

schema = schemathesis.openapi.from_path(str(document_path()))
schema.app = APP  # type: ignore[attr-defined]


def _not_owned_operation_ids() -> list[str]:
    """Operation ids of the executions, jobs and hosted-service areas (except minting service tokens)."""
    found = []
    for item in load_document()["paths"].values():
        for method, operation in item.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            tags = set(operation.get("tags", []))
            if tags & NOT_OWNED_TAGS or (
                "services" in tags and operation["operationId"] not in OWNED_SERVICE_OPERATIONS
            ):
                found.append(operation["operationId"])
    return found


NOT_OWNED = _not_owned_operation_ids()
schema = schema.exclude(operation_id=NOT_OWNED)
STATUSES: Counter[int] = Counter()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module", autouse=True)
def _report_reach() -> Iterator[None]:
    yield
    reached = sum(n for status, n in STATUSES.items() if status not in (401, 403))
    total = sum(STATUSES.values())
    print(f"\nschemathesis: {total} cases, {reached} not 401/403, statuses {dict(sorted(STATUSES.items()))}")
    if total:
        assert reached / total > 0.5, f"too few operations reached past auth: {dict(STATUSES)}"


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_conforms(case: schemathesis.Case) -> None:
    """Each generated request gets an answer the document allows, never a server error."""
    if case.path_parameters is not None:
        if "org_id" in case.path_parameters:
            case.path_parameters["org_id"] = DEFAULTS.org_id
        if "workspace_id" in case.path_parameters:
            case.path_parameters["workspace_id"] = DEFAULTS.workspace_id
    response = case.call(app=APP, headers={"Authorization": f"Bearer {TOKEN}"})
    STATUSES[response.status_code] += 1
    if response.headers.get("content-type", [""])[0].startswith("text/event-stream"):
        case.validate_response(response, checks=[c for c in CHECKS if c is not response_schema_conformance])
        _check_event_stream(response.content.decode())
        return
    case.validate_response(response, checks=CHECKS)


def _check_event_stream(text: str) -> None:
    """Every `data:` event is a ChatCompletionChunk, and the stream ends with `data: [DONE]`.

    (The document types the event stream as a string, which schemathesis cannot apply per event, so the
    events are checked against the document's ChatCompletionChunk model here.)
    """
    events = [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]
    assert events and events[-1] == "[DONE]", text[-200:]
    for event in events[:-1]:
        ChatCompletionChunk.model_validate_json(event)
