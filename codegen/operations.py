"""Print how many operations each tag of ``openapi/openapi.yaml`` has: ``python codegen/operations.py``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def operations_per_tag(spec: Mapping[str, Any]) -> dict[str, int]:
    """Return ``{tag: operation count}`` in the order the document declares its tags."""
    counts = Counter(
        tag
        for item in spec.get("paths", {}).values()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for tag in operation.get("tags", ["(untagged)"])
    )
    declared = [tag["name"] for tag in spec.get("tags", [])]
    order = declared + sorted(set(counts) - set(declared))
    return {tag: counts[tag] for tag in order}


def main() -> int:
    """Print one ``tag count`` line per tag and the total."""
    counts = operations_per_tag(yaml.safe_load(SPEC.read_text()))
    width = max(map(len, counts))
    for tag, count in counts.items():
        print(f"{tag:<{width}}  {count:>3}")
    print(f"{'total':<{width}}  {sum(counts.values()):>3}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
