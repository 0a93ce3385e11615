"""The server router generator (codegen/server/routers.py): what it reads from the document, what it refuses."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import HTTP_METHODS, ROOT


@pytest.fixture(scope="module")
def routers() -> ModuleType:
    """codegen/server/routers.py as a module."""
    path = ROOT / "codegen" / "server" / "routers.py"
    spec = importlib.util.spec_from_file_location("flow_codegen_server_routers_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _operations(routers: ModuleType, document: dict[str, Any]) -> dict[str, Any]:
    return {op.operation_id: op for tag in routers._Reader(document).tags() for op in tag.operations}


def test_every_operation_of_the_document_gets_a_route(routers: ModuleType, openapi: dict[str, Any]) -> None:
    found = _operations(routers, openapi)
    expected = {
        op["operationId"] for item in openapi["paths"].values() for m, op in item.items() if m in HTTP_METHODS
    }
    assert set(found) == expected


def test_paths_parameters_and_defaults_come_from_the_document(
    routers: ModuleType, openapi: dict[str, Any]
) -> None:
    ops = _operations(routers, openapi)
    upload = ops["uploadStorageObject"]
    assert upload.route_path == "/api/v1/orgs/{org_id}/storage/objects/{key:path}"
    assert (upload.policy, upload.body, upload.answer_type) == ("optional", "raw", "StorageObject")
    limit = next(p for p in ops["listAuditEvents"].parameters if p.name == "limit")
    assert limit.declaration == "limit: Annotated[int, Field(ge=1, le=1000)] = 100"
    key = next(p for p in ops["submitExecution"].parameters if p.location == "header")
    assert key.declaration.startswith("idempotency_key: Annotated[str | None, Field(alias='Idempotency-Key'")
    assert ops["exchangeApiKey"].policy == "public"
    assert ops["getStateValue"].policy == "workspace"
    assert ops["listWorkspaces"].policy == "org"
    assert ops["getCurrentUser"].policy == "authenticated"
    assert ops["invokeServicePost"].policy == "service"
    assert ops["createChatCompletion"].answer == "json_or_response"
    assert ops["deleteComponent"].answer == "empty"


def test_a_versioned_catch_all_is_matched_before_the_plain_one(
    routers: ModuleType, openapi: dict[str, Any]
) -> None:
    services = next(tag for tag in routers._Reader(openapi).tags() if tag.name == "services")
    paths = [op.route_path for op in services.operations]
    versioned = paths.index("/api/v1/orgs/{org_id}/services/{service_id}/v{version:int}/{path:path}")
    assert versioned < paths.index("/api/v1/orgs/{org_id}/services/{service_id}/{path:path}")
    assert all(":path}" in p for p in paths[versioned:])


def test_a_changed_document_changes_the_generated_signature(
    routers: ModuleType, openapi: dict[str, Any]
) -> None:
    changed = copy.deepcopy(openapi)
    changed["components"]["parameters"]["Limit"]["schema"]["maximum"] = 50
    limit = next(p for p in _operations(routers, changed)["listAuditEvents"].parameters if p.name == "limit")
    assert "le=50" in limit.declaration


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["paths"]["/api/v1/auth/me"]["get"].update(security=[{"apiKey": []}]),
            "unsupported security",
        ),
        (
            lambda d: d["paths"]["/api/v1/auth/me"]["get"].update(tags=["nope"]),
            "needs exactly one declared tag",
        ),
        (
            lambda d: d["paths"]["/api/v1/auth/me"]["get"].update(
                parameters=[{"name": "q", "in": "cookie", "schema": {"type": "string"}}]
            ),
            "parameters in 'cookie'",
        ),
        (
            lambda d: d["paths"]["/api/v1/auth/me"]["get"].update(
                parameters=[{"name": "copy", "in": "query", "schema": {"type": "string"}}]
            ),
            "shadow pydantic.BaseModel",
        ),
    ],
)
def test_what_the_generator_cannot_express_stops_it_with_the_reason(
    routers: ModuleType, openapi: dict[str, Any], change: Any, message: str
) -> None:
    changed = copy.deepcopy(openapi)
    change(changed)
    with pytest.raises(routers.RouterSpecError, match=message):
        routers._Reader(changed).tags()


def test_written_package_imports_and_builds_routers(
    routers: ModuleType, openapi: dict[str, Any], tmp_path: Path
) -> None:
    written = routers.write_routers(
        openapi, tmp_path / "flow_local._generated.routers", next_cursor_header="X-Next-Cursor"
    )
    names = {p.name for p in written}
    assert {"__init__.py", "_support.py", "types.py", "storage.py", "services.py"} <= names
    text = (tmp_path / "flow_local._generated.routers" / "storage.py").read_text()
    assert "class StorageOperations(Protocol[CallT]):" in text
    assert "def storage_router(" in text
