"""Type checkers accept keys of free-form results (dataset rows, execution output) without a cast."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from mypy import api

PYRIGHT = Path(sys.executable).parent / "pyright"

ROW_KEYS = """
from flow_sdk import CLIClient, FlowSDK


async def rows(flow: FlowSDK) -> list[str]:
    found = await flow.datasets.query("people", {"filters": [{"field": "age", "op": "gt", "value": 30}]})
    names = [str(row["name"]) for row in found["rows"]]
    near = await flow.datasets.vector_query("people", [0.1, 0.2], "embedding")
    names.append(near["results"][0]["row"]["name"])
    envelope = await flow.code_blocks.run(code_block_id="word-count", input_parameters={"text": "a b"})
    names.append(envelope["output"]["name"])
    return names


def rows_sync(client: CLIClient) -> object:
    return client.datasets.query("people")["rows"][0]["name"]
"""


def mypy_report(tmp_path: Path, source: str) -> str:
    """mypy --strict's report on ``source``."""
    module = tmp_path / "example.py"
    module.write_text(textwrap.dedent(source))
    report, errors, _ = api.run(["--strict", "--follow-imports=silent", "--no-incremental", str(module)])
    return report + errors


def test_mypy_accepts_keys_of_a_dataset_row_and_an_execution_output(tmp_path: Path) -> None:
    report = mypy_report(tmp_path, ROW_KEYS)
    assert "Success: no issues found" in report, report


def test_pyright_strict_accepts_them_too(tmp_path: Path) -> None:
    (tmp_path / "example.py").write_text(textwrap.dedent(ROW_KEYS))
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({"typeCheckingMode": "strict"}))
    run = subprocess.run(
        [str(PYRIGHT), "--outputjson", "--pythonpath", sys.executable, "--project", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(run.stdout)
    assert report["summary"]["filesAnalyzed"] == 1
    assert report["generalDiagnostics"] == []
