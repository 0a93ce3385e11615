"""The proof that the document is the single source of truth: rename in it, regenerate, and mypy fails
in the SDK where it sends them and in the local platform where it serves them.

A copy of the project gets one request-body field and one query parameter renamed in
``openapi/openapi.yaml``; after regeneration, mypy must fail in exactly the modules that send them
(flow_sdk) and the backends that implement them (flow_local: a backend subclasses its generated Protocol).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .contract_tools import (
    copy_project,
    edit_document,
    mypy_failures,
    regenerate,
    rename_property,
    rename_query_parameter,
)

pytestmark = pytest.mark.slow

RENAMED_FIELD = ("PresignRequest", "ttl_seconds", "lifetime_seconds")
RENAMED_QUERY = ("getExecutionResult", "wait_seconds", "hold_seconds")


def _rename(document: dict[str, Any]) -> None:
    rename_property(document, *RENAMED_FIELD)
    rename_query_parameter(document, *RENAMED_QUERY)


@pytest.fixture(scope="module")
def renamed_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project whose document has the two renames, regenerated."""
    tree = copy_project(tmp_path_factory.mktemp("contract") / "project")
    edit_document(tree, _rename)
    regenerate(tree)
    return tree


def test_renaming_in_the_document_breaks_the_sdk_where_it_sends_them(
    renamed_tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    failures = mypy_failures(renamed_tree, "flow_sdk", tmp_path_factory.mktemp("mypy-cache"))
    assert set(failures) == {
        "flow_sdk/namespaces/storage.py",
        "flow_sdk/sync_flow_sdk.py",  # generated from the namespaces: it runs storage's body without awaits
        "flow_sdk/platform_client.py",
        "flow_sdk/cli_client.py",
    }, failures
    for module in ("flow_sdk/namespaces/storage.py", "flow_sdk/sync_flow_sdk.py"):
        assert any("ttl_seconds" in message for message in failures[module]), failures[module]
    for module in ("flow_sdk/platform_client.py", "flow_sdk/cli_client.py"):
        assert any("wait_seconds" in message for message in failures[module]), failures[module]


def test_renaming_in_the_document_breaks_the_platform_where_it_serves_them(
    renamed_tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    failures = mypy_failures(renamed_tree, "flow_local", tmp_path_factory.mktemp("mypy-cache-local"))
    assert set(failures) == {"flow_local/areas/storage.py", "flow_local/areas/executions.py"}, failures
    # The storage backend reads the renamed body field.
    assert any("ttl_seconds" in message for message in failures["flow_local/areas/storage.py"])
    # The executions backend no longer matches its generated Protocol, whose method takes the new name.
    executions = failures["flow_local/areas/executions.py"]
    assert any('"get_execution_result"' in message for message in executions), executions
