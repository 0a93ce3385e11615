"""The document is the single source of truth: rename a request field and a query parameter in a copy
of it, regenerate, and the type checker fails in the code on both sides that still uses the old names.

A copy of the tree gets ``PresignRequest.ttl_seconds`` renamed to ``ttl_secs`` and the ``prefix``
query parameter of ``listStorageObjects`` renamed to ``key_prefix``. After ``codegen/generate.py``
the storage backend of the local platform no longer matches its generated Protocol (and reads a
field that is gone), and the SDK's storage namespace calls a builder with a keyword it no longer has
and builds a request body with a key the TypedDict does not know.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

COPIED = ("openapi", "codegen", "generated", "flow_local", "flow_sdk", "pyproject.toml")
IGNORED = shutil.ignore_patterns("__pycache__", ".mypy_cache", "*.pyc")


def _copy_tree(target: Path) -> None:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=IGNORED)
        else:
            shutil.copy2(source, target / name)


def _rename_in_document(document: Path) -> None:
    spec = yaml.safe_load(document.read_text())
    presign = spec["components"]["schemas"]["PresignRequest"]
    presign["properties"]["ttl_secs"] = presign["properties"].pop("ttl_seconds")
    presign["required"] = [
        "ttl_secs" if name == "ttl_seconds" else name for name in presign.get("required", [])
    ]
    listing = spec["paths"]["/api/v1/orgs/{org_id}/storage/objects"]["get"]
    (prefix,) = [p for p in listing["parameters"] if p.get("name") == "prefix"]
    prefix["name"] = "key_prefix"
    document.write_text(yaml.safe_dump(spec, sort_keys=False))


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)


def _type_errors(tree: Path, cache: Path) -> tuple[set[str], str]:
    """The ``path:line: error`` lines of mypy over both packages, and the whole output."""
    checked = _run([sys.executable, "-m", "mypy", "flow_local", "flow_sdk", "--cache-dir", str(cache)], tree)
    output = checked.stdout + checked.stderr
    assert checked.returncode in (0, 1), output
    return {line for line in output.splitlines() if ": error:" in line}, output


@pytest.mark.slow
def test_renames_in_the_document_fail_the_type_check_on_both_sides(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    _copy_tree(tree)
    before, _ = _type_errors(tree, tmp_path / "cache")
    _rename_in_document(tree / "openapi" / "openapi.yaml")

    generated = _run([sys.executable, "codegen/generate.py"], tree)
    assert generated.returncode == 0, generated.stderr
    routers = (tree / "generated" / "flow_server_routers" / "storage.py").read_text()
    assert "key_prefix: str," in routers and " prefix: str," not in routers

    after, output = _type_errors(tree, tmp_path / "cache")
    new = after - before
    files = {line.split(":", 1)[0] for line in new}
    # The platform side: the backend implementing the storage Protocol no longer matches it, and it
    # reads the renamed field.
    assert any("flow_local/areas/storage.py" in e and '"list_storage_objects"' in e for e in new), output
    assert any("flow_local/areas/storage.py" in e and '"ttl_seconds"' in e for e in new), output
    # The SDK side: the storage namespace passes the old keyword and builds the old body key.
    assert any("flow_sdk/namespaces/storage.py" in e and '"prefix"' in e for e in new), output
    assert any("flow_sdk/namespaces/storage.py" in e and '"ttl_seconds"' in e for e in new), output
    # Nothing else breaks: the renames reach only the code that uses them.
    assert files == {"flow_local/areas/storage.py", "flow_sdk/namespaces/storage.py"}, output
