"""Every Python example of the README runs as a file, in README order, against one local platform.

Each block is written to its own file and run with the variables of ``flow local env`` (and a private
config directory), from the repository root, as a reader would after following the README.
The pytest example is the file ``examples/testing/test_my_code.py`` itself (run by tests/plugin).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flow_local.harness import LocalPlatform

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PLUGIN_EXAMPLE = ROOT / "examples" / "testing" / "test_my_code.py"

pytestmark = pytest.mark.slow


def python_blocks() -> list[str]:
    """The README's ```python blocks, in order."""
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def _is_test_file(block: str) -> bool:
    return "def test_" in block


@pytest.fixture(scope="module")
def lp() -> Iterator[LocalPlatform]:
    with LocalPlatform() as platform:
        yield platform


def test_the_readme_has_runnable_examples() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 8
    for block in blocks:
        assert not re.search(r"^await ", block, re.M), f"top-level await in:\n{block}"


def test_the_plugin_example_is_the_example_file() -> None:
    tests = [block for block in python_blocks() if _is_test_file(block)]
    assert tests == [PLUGIN_EXAMPLE.read_text()]


def test_every_example_runs_as_a_file(lp: LocalPlatform, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FLOW_", "PLATFORM_", "AUTH_"))},
        **lp.env(),
        "FLOW_CONFIG_DIR": str(tmp_path / "config"),
    }
    ran = 0
    for number, block in enumerate(python_blocks(), start=1):
        if _is_test_file(block):
            continue
        script = tmp_path / f"readme_example_{number}.py"
        script.write_text(block)
        done = subprocess.run(
            [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
        )
        assert done.returncode == 0, f"README example {number} failed:\n{block}\n{done.stderr}"
        ran += 1
        if "word-count" in block and "adder" in block:
            assert "{'words': 3} counting" in done.stdout
            assert "The tool returned" in done.stdout
            assert "'words': 2" in done.stdout and "{'title': 'Q4', 'first': 'x'}" in done.stdout
    assert ran == len(python_blocks()) - 1
