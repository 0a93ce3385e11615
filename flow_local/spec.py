"""The handwritten OpenAPI document, loaded once (served at /openapi.json and used by tests)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

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
    """The parsed document (with libyaml's parser when PyYAML has it: several times faster)."""
    import yaml  # only the document route and tests need it, not the platform's start

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with document_path().open() as handle:
        return yaml.load(handle, Loader=loader)  # type: ignore[no-any-return]
