"""examples/demo.py, the first thing newcomers run: it succeeds end to end, and a failing step makes it exit 1."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"
SECTIONS = ("chat", "streaming", "storage", "datasets", "vector", "memory", "state", "audit", "code block")


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flow_demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_demo_runs_every_section() -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    for section in SECTIONS:
        assert any(line.startswith(f"✓ {section}") for line in lines), (
            f"no '{section}' line in:\n{done.stdout}"
        )
    assert "You said: What is the capital of France?" in done.stdout
    assert "enterprise customers: ['Ada', 'Grace']" in done.stdout
    assert "'Reset your password in settings.'" in done.stdout
    assert "'reply': 'You said: Analyze this.'" in done.stdout, (
        "the code block calls the gateway with FlowSDK()"
    )


@pytest.mark.slow
def test_demo_exits_non_zero_when_a_step_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = load_demo()

    async def broken_storage(flow: object) -> None:
        raise RuntimeError("storage is down")

    monkeypatch.setattr(demo, "storage", broken_storage)
    for name in (
        "ORG_ID",
        "WORKSPACE_ID",
        "AUTH_TOKEN",
        "PLATFORM_API_URL",
        "GATEWAY_URL",
        "RING_ID",
        "FLOW_API_KEY",
    ):
        monkeypatch.setenv(
            name, ""
        )  # records the original, so what the demo exports is undone after the test
    assert demo.main() == 1
    assert "demo failed: RuntimeError: storage is down" in capsys.readouterr().out
