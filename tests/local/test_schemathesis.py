"""Property-based conformance: every operation of the handwritten document, against the ASGI app in-process.

Checks: no server error, status codes, content types, response headers and response bodies as the
document declares them. Path parameters ``org_id`` and ``workspace_id`` are pinned to the real
default tenancy (and the token is real), so operations are reached rather than refused; the test
counts answers that were not 401/403 to prove it. The app's lifespan runs (schemathesis starts it on
the first call), so executions, jobs and hosted services are served by their real components.

Every other case also gets real ids for the areas that need them (a code block, a transform, a
hosted-service resource, an execution and a job created here, the default ring), so those
operations answer 200/202 as well as 404.

Excluded, listed in ``EXCLUDED``: ``deployHostedServiceVersion``, because each generated deploy
writes the generated files and starts a Python process, then waits for its health check to fail
(seconds per case). Service invocations stay in: with no version running they answer 404 at once.

``FLOW_SCHEMATHESIS_EXAMPLES`` sets examples per operation (default 4).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

# Loaded here, before the platform's background start loads it on its own thread: hypothesis looks up
# numpy.ndarray whenever numpy is in sys.modules, and fails on a module another thread is still loading.
import numpy  # noqa: F401
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flow_local._generated.models import ChatCompletionChunk
from flow_local.app import create_app
from flow_local.areas.catalog import CatalogBackend
from flow_local.areas.resources import ResourcesBackend
from flow_local.bootstrap import admin_token
from flow_local.settings import Settings
from flow_local.spec import document_path

EXAMPLES = int(os.environ.get("FLOW_SCHEMATHESIS_EXAMPLES", "4"))
EXCLUDED = ["deployHostedServiceVersion"]
CODE_BLOCK_ID = "st-code"
TRANSFORM_ID = "st-transform"
SERVICE_ID = "st-service"

_DATA_DIR = os.environ.get("FLOW_SCHEMATHESIS_DATA_DIR") or tempfile.mkdtemp(prefix="flow-st-")
APP = create_app(Settings.load(_DATA_DIR, port=8080))
PLATFORM = APP.state.platform
DEFAULTS = PLATFORM.extras["defaults"]
TOKEN = admin_token(PLATFORM, DEFAULTS)


def _create_fixtures() -> None:
    """The component and resource ids that executions, transforms, jobs and services operations need."""
    org, ws = DEFAULTS.org_id, DEFAULTS.workspace_id
    catalog = PLATFORM.backend(CatalogBackend)
    source = "def main(**inputs) -> dict:\n    return {'got': sorted(inputs)}\n"
    catalog.upsert(org, ws, "code_block", {"id": CODE_BLOCK_ID, "name": "st", "spec": {"source": source}})
    catalog.upsert(
        org, ws, "transform", {"id": TRANSFORM_ID, "name": "st", "spec": {"mapping": {"a": "$.a"}}}
    )
    PLATFORM.backend(ResourcesBackend).create(org, ws, "hosted_service", {"id": SERVICE_ID, "name": "st"})


class LongLifespan:
    """The app as schemathesis sees it: the platform's components start once for the whole module.

    Schemathesis runs an ASGI app's lifespan for each test item (each operation), which would start
    and stop NATS, the runners and the service host dozens of times. This wrapper enters the real
    lifespan on the first startup message, answers later startup/shutdown messages without touching
    it, and :meth:`close` (at module teardown) leaves it, on the loop it was entered on.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.context: AbstractAsyncContextManager[Any] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.context is None:
                    self.loop = asyncio.get_running_loop()
                    self.context = self.app.router.lifespan_context(self.app)
                    await self.context.__aenter__()
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Stop the platform's components."""
        if self.context is not None and self.loop is not None:
            done = asyncio.run_coroutine_threadsafe(self.context.__aexit__(None, None, None), self.loop)
            done.result(timeout=60)
            self.context = None


_create_fixtures()
SERVED = LongLifespan(APP)
schema = schemathesis.openapi.from_path(str(document_path())).exclude(operation_id=EXCLUDED)
schema.app = SERVED  # type: ignore[attr-defined]
_REAL_IDS: dict[str, str] = {}
_CASES = [0]
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
    try:
        yield
    finally:
        SERVED.close()
    reached = sum(n for status, n in STATUSES.items() if status not in (401, 403))
    total = sum(STATUSES.values())
    print(f"\nschemathesis: {total} cases, {reached} not 401/403, statuses {dict(sorted(STATUSES.items()))}")
    if total:
        assert reached / total > 0.5, f"too few operations reached past auth: {dict(STATUSES)}"


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_conforms(case: schemathesis.Case) -> None:
    """Each generated request gets an answer the document allows, never a server error."""
    _CASES[0] += 1
    if case.path_parameters is not None:
        if "org_id" in case.path_parameters:
            case.path_parameters["org_id"] = DEFAULTS.org_id
        if "workspace_id" in case.path_parameters:
            case.path_parameters["workspace_id"] = DEFAULTS.workspace_id
        if _CASES[0] % 2 == 0:
            _use_real_ids(case)
    response = case.call(app=SERVED, headers={"Authorization": f"Bearer {TOKEN}"})
    STATUSES[response.status_code] += 1
    if response.headers.get("content-type", [""])[0].startswith("text/event-stream"):
        case.validate_response(response, checks=[c for c in CHECKS if c is not response_schema_conformance])
        _check_event_stream(response.content.decode())
        return
    case.validate_response(response, checks=CHECKS)


def _use_real_ids(case: schemathesis.Case) -> None:
    """Put existing ids into the path and, for submissions, into string fields of the body."""
    params = case.path_parameters or {}
    if "service_id" in params:
        params["service_id"] = SERVICE_ID
    if "transform_id" in params:
        params["transform_id"] = TRANSFORM_ID
    if "execution_id" in params:
        params["execution_id"] = _real_id("execution")
    if "job_id" in params:
        params["job_id"] = _real_id("job")
    body = case.body if isinstance(case.body, dict) else {}
    if case.operation.definition.raw.get("operationId") == "submitExecution":
        if isinstance(body.get("ring_id"), str):
            body["ring_id"] = DEFAULTS.ring_id
        if body.get("component_type") == "code_block" and isinstance(body.get("component_id"), str):
            body["component_id"] = CODE_BLOCK_ID
    if case.operation.definition.raw.get("operationId") == "submitJob" and isinstance(
        body.get("service_id"), str
    ):
        body["service_id"] = SERVICE_ID


def _real_id(kind: str) -> str:
    """The id of an execution or a job made once through the app (its lifespan is running by then)."""
    if kind not in _REAL_IDS:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        org, ws = DEFAULTS.org_id, DEFAULTS.workspace_id
        with asgi.get_client(SERVED) as client:
            if kind == "execution":
                body = {
                    "component_type": "code_block",
                    "component_id": CODE_BLOCK_ID,
                    "ring_id": DEFAULTS.ring_id,
                }
                answer = client.post(
                    f"/api/v1/orgs/{org}/workspaces/{ws}/executions", json=body, headers=headers
                )
                _REAL_IDS[kind] = answer.json()["execution_id"]
            else:
                body = {"service_id": SERVICE_ID, "endpoint_path": "/work"}
                answer = client.post(f"/api/v1/orgs/{org}/jobs", json=body, headers=headers)
                _REAL_IDS[kind] = answer.json()["job_id"]
    return _REAL_IDS[kind]


def _check_event_stream(text: str) -> None:
    """Every `data:` event is a ChatCompletionChunk, and the stream ends with `data: [DONE]`.

    (The document types the event stream as a string, which schemathesis cannot apply per event, so the
    events are checked against the document's ChatCompletionChunk model here.)
    """
    events = [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]
    assert events and events[-1] == "[DONE]", text[-200:]
    for event in events[:-1]:
        ChatCompletionChunk.model_validate_json(event)
