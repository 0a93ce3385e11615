"""Helpers for the contract tests: copy the project, edit its document, regenerate, type-check a package."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("openapi", "codegen", "flow_sdk", "flow_local", "pyproject.toml")
MYPY_ERROR = re.compile(r"^(?P<file>[^:\s]+\.py):\d+: error: (?P<message>.*)$")


def copy_project(target: Path) -> Path:
    """Copy what generation and type checking need into ``target`` (no caches); return ``target``."""
    ignore = shutil.ignore_patterns("__pycache__", ".mypy_cache", "*.pyc")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, target / name)
    return target


def edit_document(tree: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Load ``openapi/openapi.yaml`` of ``tree``, apply ``change`` to it, and write it back."""
    path = tree / "openapi" / "openapi.yaml"
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def regenerate(tree: Path) -> None:
    """Run the copy's own ``codegen/generate.py`` on the copy's generated trees."""
    result = subprocess.run(
        [sys.executable, str(tree / "codegen" / "generate.py")],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def mypy_failures(tree: Path, package: str, cache_dir: Path) -> dict[str, list[str]]:
    """Type-check ``package`` of ``tree`` with the project's mypy settings; return ``{file: [errors]}``.

    The copy comes first on mypy's path, so its regenerated packages are the ones checked.
    Only errors in ``package`` itself are returned (mypy also reports modules it followed imports into).
    """
    env = {**os.environ, "MYPYPATH": str(tree)}
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache_dir), package],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    failures: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        match = MYPY_ERROR.match(line)
        if match and match["file"].startswith(f"{package}/"):
            failures.setdefault(match["file"], []).append(match["message"])
    assert "error:" in result.stdout or result.returncode == 0, result.stdout + result.stderr
    return failures


def operation(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    """The operation object whose operationId is ``operation_id``."""
    for item in document["paths"].values():
        for candidate in item.values():
            if isinstance(candidate, dict) and candidate.get("operationId") == operation_id:
                return candidate
    raise KeyError(operation_id)


def rename_property(document: dict[str, Any], schema: str, old: str, new: str) -> None:
    """Rename one property of a component schema (and in its ``required`` list)."""
    target = document["components"]["schemas"][schema]
    target["properties"] = {new if k == old else k: v for k, v in target["properties"].items()}
    target["required"] = [new if k == old else k for k in target.get("required", [])]


def rename_query_parameter(document: dict[str, Any], operation_id: str, old: str, new: str) -> None:
    """Rename one inline query parameter of an operation."""
    for parameter in operation(document, operation_id).get("parameters", []):
        if parameter.get("in") == "query" and parameter.get("name") == old:
            parameter["name"] = new
            return
    raise KeyError(f"{operation_id} has no inline query parameter {old}")
