"""mypy and pyright accept the README's Python examples and the documentation's example files as written.

Results are the document's TypedDicts (free-form values ``dict[str, Any]`` or ``Any``), so user code
reads them without a cast. Both checkers run on copies of the README's ``python`` blocks and of every
file under ``docs/examples``: mypy strict (except that a user's test function may go unannotated, a
code block may return a bare ``dict``, and a hosted service's answer, any JSON, may be returned as one),
pyright in its standard mode, the one editors default to.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[2]
PYRIGHT = Path(sys.executable).parent / "pyright"
MYPY_OPTIONS = [
    "--strict",
    "--allow-untyped-defs",
    "--allow-any-generics",
    "--no-warn-return-any",
    "--follow-imports=silent",
]


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with each README block and each documentation example as a module of its own."""
    folder = tmp_path_factory.mktemp("examples")
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) >= 5, "the README's python examples were not found"
    for number, block in enumerate(blocks):
        (folder / f"readme_{number}.py").write_text(block)
    files = sorted((ROOT / "docs" / "examples").rglob("*.py"))
    assert len(files) >= 20, "the documentation's examples were not found"
    for path in files:
        name = "__".join(path.relative_to(ROOT / "docs" / "examples").with_suffix("").parts)
        (folder / f"docs_{name}.py").write_text(path.read_text())
    return folder


def test_mypy_accepts_every_example(examples: Path, tmp_path: Path) -> None:
    report, errors, status = api.run(
        [*MYPY_OPTIONS, "--cache-dir", str(tmp_path / "cache"), *map(str, sorted(examples.glob("*.py")))]
    )
    assert status == 0, report + errors


def test_pyright_accepts_every_example(examples: Path) -> None:
    (examples / "pyrightconfig.json").write_text(
        json.dumps({"typeCheckingMode": "standard", "pythonVersion": "3.11"})
    )
    run = subprocess.run(
        [str(PYRIGHT), "--outputjson", "--pythonpath", sys.executable, "--project", str(examples)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(run.stdout)
    problems = [
        f"{d['file'].rsplit('/', 1)[-1]}:{d['range']['start']['line'] + 1}: {d['message']}"
        for d in report["generalDiagnostics"]
        if d["severity"] == "error"
    ]
    assert report["summary"]["filesAnalyzed"] >= 25
    assert not problems, "\n".join(problems)
