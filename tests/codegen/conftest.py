"""Shared fixtures for the generator tests: the document, the generate.py module and the repository root."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def load_script(filename: str) -> ModuleType:
    """Import a script of codegen/ (e.g. ``generate.py``) as a module; codegen/ is not a package."""
    path = ROOT / "codegen" / filename
    spec = importlib.util.spec_from_file_location(f"flow_codegen_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def openapi() -> dict[str, Any]:
    """The OpenAPI document as a dict."""
    return yaml.safe_load(SPEC_PATH.read_text())


@pytest.fixture(scope="session")
def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (METHOD, path, operation) of the document."""
    return [
        (method.upper(), path, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


@pytest.fixture(scope="session")
def generate() -> ModuleType:
    """The codegen/generate.py module."""
    return load_script("generate.py")
