"""flow_sdk reaches the generated layer by imports only: no operation or model is named in a string.

Every string constant in flow_sdk/ (docstrings included) is compared with the document's operation ids,
their snake_case forms, the builder names and the schema names; ``_get_kwargs`` (the private request
function of the previous generated client) and string imports of the generated packages are refused too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .contract_tools import ROOT

SDK = ROOT / "flow_sdk"
GENERATED = "flow_sdk._generated"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.fixture(scope="module")
def forbidden() -> set[str]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "openapi" / "openapi.yaml").read_text())
    ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    names = set(ids) | {_snake(i) for i in ids} | {f"build_{_snake(i)}_request" for i in ids}
    return names | set(document["components"]["schemas"])


def _offences(path: Path, forbidden: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    exported = {
        id(constant)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets)
        for constant in ast.walk(node.value)
    }  # __all__ names this module's own objects (flow.memory's class is MemoryNamespace, like a schema)
    found = []
    for node in ast.walk(tree):
        if id(node) in exported:
            continue
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text in forbidden:
                found.append(f"{where}: the string {text!r} names an operation or model")
            if text == GENERATED or text.startswith(GENERATED + "."):
                found.append(f"{where}: the string {text!r} names a generated module")
        if isinstance(node, ast.Attribute) and node.attr == "_get_kwargs":
            found.append(f"{where}: uses _get_kwargs")
    return found


def test_no_string_in_flow_sdk_names_an_operation_or_a_model(forbidden: set[str]) -> None:
    handwritten = [path for path in sorted(SDK.rglob("*.py")) if "_generated" not in path.parts]
    offences = [o for path in handwritten for o in _offences(path, forbidden)]
    assert not offences, "\n".join(offences)


def test_the_check_finds_what_it_looks_for(tmp_path: Path, forbidden: set[str]) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import importlib\n"
        "endpoint('storage', 'upload_storage_object')\n"
        "body_model('PresignRequest', {})\n"
        "importlib.import_module('flow_sdk._generated.client.api.auth')\n"
        "module._get_kwargs()\n"
    )
    offences = [o.split(": ", 1)[1] for o in _offences(sample, forbidden) if "sample.py" in o]
    assert len(offences) == 4, offences
