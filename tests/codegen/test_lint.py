"""The OpenAPI document passes the Redocly linter (configured by redocly.yaml) with no errors."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from .conftest import ROOT

REDOCLY = ROOT / "node_modules" / ".bin" / "redocly"


def _lint() -> dict[str, object]:
    env = {
        **os.environ,
        "REDOCLY_TELEMETRY": "off",
        "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
        "NO_COLOR": "1",
    }
    result = subprocess.run(
        [str(REDOCLY), "lint", "openapi/openapi.yaml", "--format=json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        report: dict[str, object] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"redocly lint gave no JSON report (exit {result.returncode}):\n{result.stdout}{result.stderr}"
        )
    report["exit_code"] = result.returncode
    return report


@pytest.mark.skipif(
    not REDOCLY.exists(), reason="node_modules/.bin/redocly is absent: run `npm ci` to lint the spec"
)
def test_openapi_document_has_no_lint_errors() -> None:
    report = _lint()
    totals = report["totals"]
    assert isinstance(totals, dict)
    problems = report.get("problems", [])
    assert isinstance(problems, list)
    errors = [
        f"{problem.get('ruleId')}: {problem.get('message')} at "
        + ", ".join(location.get("pointer", "?") for location in problem.get("location", []))
        for problem in problems
        if problem.get("severity") == "error"
    ]
    assert totals["errors"] == 0 and not errors, "redocly lint errors:\n" + "\n".join(errors)
    assert report["exit_code"] == 0
