"""The handwritten OpenAPI document, loaded once (served at /openapi.json and used by tests)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

_CANDIDATES = (
    Path(__file__).resolve().parent.parent / "openapi" / "openapi.yaml",
    Path(__file__).resolve().parent / "openapi.yaml",
)


def document_path() -> Path:
    """Where the document is: the repository's ``openapi/`` or the copy packaged with flow_local."""
    for candidate in _CANDIDATES:
        if candidate.exists():
            return candidate
    raise FileNotFoundError("openapi.yaml not found next to flow_local or in ../openapi/")


@functools.lru_cache(maxsize=1)
def load_document() -> dict[str, Any]:
    """The parsed document."""
    with document_path().open() as handle:
        return yaml.safe_load(handle)  # type: ignore[no-any-return]


def api_version() -> str:
    """The document's ``info.version``."""
    return str(load_document()["info"]["version"])
