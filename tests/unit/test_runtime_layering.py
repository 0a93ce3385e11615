"""The execution engine sits below the areas: nothing in flow_local.runtime imports an area or the app.

The check reads every import statement, those inside functions included, so a cycle cannot hide in a
function-level import.
"""

from __future__ import annotations

import ast
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "flow_local" / "runtime"
FORBIDDEN = (
    "flow_local.areas",
    "flow_local.app",
    "flow_local.gateway",
    "flow_local.console",
    "flow_local.harness",
)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_the_runtime_imports_no_area_and_not_the_app() -> None:
    offending = [
        f"{path.relative_to(RUNTIME.parent.parent)}: {name}"
        for path in sorted(RUNTIME.rglob("*.py"))
        for name in _imports(path)
        if name.startswith(FORBIDDEN)
    ]
    assert offending == []
