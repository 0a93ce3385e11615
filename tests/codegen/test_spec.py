"""The OpenAPI document covers every request the seeds show, and every operation is complete.

Also checks that the generated layer matches the document: one endpoint module per operation, and a
storage key with slashes keeps its slashes in the request path.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from typing import Any

import pytest

from .conftest import ROOT, load_script

# (method, path) of every request the seeds show; parameter names do not matter ({ws_id} = {workspace_id}).
SEED_REQUESTS = [
    ("GET", "/api/v1/tenants/orgs"),
    ("GET", "/api/v1/tenants/orgs/{org_id}/workspaces"),
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/cli-login-requests"),
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/orgs/{org_id}/workspaces/{ws_id}/datasets/{dataset_id}/query"),
    ("GET", "/api/v1/gateway/v1/models"),
    ("POST", "/api/v1/gateway/v1/chat/completions"),
    ("POST", "/api/v1/gateway/v1/embeddings"),
    ("PUT", "/api/v1/orgs/{org_id}/storage/objects/{key}"),
    ("GET", "/api/v1/orgs/{org_id}/storage/objects/{key}"),
    ("POST", "/api/v1/connectors/instances/{instance_id}/execute-ddl"),
    ("POST", "/api/v1/orgs/{org}/workspaces/{ws}/components/{component_type}"),
    *[
        (method, "/api/v1/orgs/{org}/services/{service_id}/{path}")
        for method in ("GET", "POST", "PUT", "DELETE")
    ],
    *[
        (method, "/api/v1/orgs/{org}/services/{service_id}/v{version}/{path}")
        for method in ("GET", "POST", "PUT", "DELETE")
    ],
]
ERROR_SCHEMA = "#/components/schemas/Error"


def _shape(path: str) -> str:
    """The path with every parameter name blanked, so `{ws_id}` and `{workspace_id}` compare equal."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = document
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return dict(target)


@pytest.mark.parametrize(("method", "path"), SEED_REQUESTS, ids=[f"{m} {p}" for m, p in SEED_REQUESTS])
def test_seed_request_is_in_the_document(
    operations: list[tuple[str, str, dict[str, Any]]], method: str, path: str
) -> None:
    documented = {(m, _shape(p)) for m, p, _ in operations}
    assert (method, _shape(path)) in documented, (
        f"{method} {path} (shown in the seeds) is not in openapi.yaml"
    )


def test_every_operation_has_id_one_declared_tag_and_summary(
    openapi: dict[str, Any], operations: list[tuple[str, str, dict[str, Any]]]
) -> None:
    declared = {tag["name"] for tag in openapi["tags"]}
    problems = []
    for method, path, operation in operations:
        where = f"{method} {path}"
        if not operation.get("operationId"):
            problems.append(f"{where}: no operationId")
        tags = operation.get("tags", [])
        if len(tags) != 1 or tags[0] not in declared:
            problems.append(f"{where}: tags {tags} (need exactly one of {sorted(declared)})")
        if not str(operation.get("summary", "")).strip():
            problems.append(f"{where}: no summary")
    assert not problems, "\n".join(problems)


def test_operation_ids_are_unique(operations: list[tuple[str, str, dict[str, Any]]]) -> None:
    counts = Counter(operation["operationId"] for _, _, operation in operations)
    assert [name for name, count in counts.items() if count > 1] == []


def test_every_operation_documents_its_errors_with_the_error_schema(
    openapi: dict[str, Any], operations: list[tuple[str, str, dict[str, Any]]]
) -> None:
    problems = []
    for method, path, operation in operations:
        where = f"{method} {path}"
        codes = set(operation["responses"])
        if not any(code.startswith("4") for code in codes):
            problems.append(f"{where}: no 4xx response")
        if "500" not in codes:
            problems.append(f"{where}: no 500 response")
        if operation.get("security", openapi["security"]) != [] and "401" not in codes:
            problems.append(f"{where}: needs a bearer token but documents no 401")
        for code in sorted(code for code in codes if code[0] in "45"):
            response = _resolve(openapi, operation["responses"][code])
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") != ERROR_SCHEMA:
                problems.append(f"{where}: {code} does not use the Error schema")
    assert not problems, "\n".join(problems)


def test_every_operation_has_its_public_builder_and_no_other_exists(
    operations: list[tuple[str, str, dict[str, Any]]],
) -> None:
    missing = []
    for method, path, operation in operations:
        module = importlib.import_module(f"flow_sdk._generated.client.{operation['tags'][0]}")
        builder = getattr(module, f"build_{_snake(operation['operationId'])}_request", None)
        if builder is None:
            missing.append(f"{method} {path}: {module.__name__}")
            continue
        assert builder.__doc__ and f"``{method} {path}``" in builder.__doc__
    assert not missing, "the generated client lacks builders (run codegen/generate.py):\n" + "\n".join(
        missing
    )
    built = [
        name
        for module in (ROOT / "flow_sdk" / "_generated" / "client").glob("*.py")
        for name in importlib.import_module(f"flow_sdk._generated.client.{module.stem}").__dict__.get(
            "__all__", []
        )
        if name.startswith("build_")
    ]
    assert len(built) == len(operations), (
        "the generated client has builders for operations not in the document"
    )


def test_operation_counts_per_tag_match_the_generated_modules(openapi: dict[str, Any]) -> None:
    counts = load_script("operations.py").operations_per_tag(openapi)
    for tag, count in counts.items():
        module = importlib.import_module(f"flow_sdk._generated.client.{tag}")
        assert len(module.__all__) == count, f"tag {tag}: {count} operations, {len(module.__all__)} builders"
    print("\noperations per tag:", ", ".join(f"{tag}={count}" for tag, count in counts.items()))


def test_slash_parameters_are_read_from_the_document() -> None:
    from flow_sdk._generated.client.services import build_invoke_service_version_get_request
    from flow_sdk._generated.client.state import build_get_state_value_request
    from flow_sdk._generated.client.storage import build_download_storage_object_request

    assert build_download_storage_object_request("o", "a/b c").path.endswith("/objects/a/b%20c")
    assert build_invoke_service_version_get_request("o", "s", 2, "x/y").path.endswith("/s/v2/x/y")
    assert build_get_state_value_request("o", "w", "c", "a/b").path.endswith("/keys/a%2Fb")
