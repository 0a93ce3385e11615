"""The README's Python example for the local platform runs as written, configured from the environment."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from flow_local.harness import LocalPlatform

README = Path(__file__).resolve().parents[2] / "README.md"


def _first_python_block(section: str) -> str:
    text = README.read_text().split(section, 1)[1]
    match = re.search(r"```python\n(.*?)```", text, re.S)
    assert match, f"no python example under {section!r}"
    return match.group(1)


def test_five_minute_example_runs_against_the_local_platform(lp: LocalPlatform, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(_first_python_block("## The local platform in five minutes"))
    result = subprocess.run(
        [sys.executable, str(script)],
        env={**lp.env(), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "What is the capital of France?" in result.stdout
