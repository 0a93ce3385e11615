"""codegen/sync_twin.py: the blocking twin of FlowSDK is generated from the async namespaces."""

from __future__ import annotations

import inspect
import subprocess
import sys

from flow_sdk.flow_sdk import FlowSDK
from flow_sdk.sync_flow_sdk import SyncFlowSDK

from .conftest import ROOT


def _shape(function: object) -> list[tuple[str, object, object]]:
    """Names, kinds and defaults of the parameters (annotations are mypy's to compare)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]  # type: ignore[arg-type]


def test_the_committed_twin_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "codegen" / "sync_twin.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr + "\nrun: nox -s codegen"


def test_every_async_method_has_a_blocking_twin_with_the_same_parameters() -> None:
    flow = FlowSDK(org_id="o", workspace_id="w", auth_token="t", platform_url="http://x")
    twin = SyncFlowSDK(org_id="o", workspace_id="w", auth_token="t", platform_url="http://x")
    try:
        for name in ("storage", "code_blocks", "agents", "gateway", "services", "state", "vector"):
            namespace, blocking = getattr(flow, name), getattr(twin, name)
            for method_name, method in inspect.getmembers(namespace, inspect.iscoroutinefunction):
                if method_name.startswith("_") or method_name == "stream_chat_completion":
                    continue
                mirrored = getattr(blocking, method_name)
                assert not inspect.iscoroutinefunction(mirrored), f"{name}.{method_name}"
                assert _shape(mirrored) == _shape(method), f"{name}.{method_name}"
        assert twin.auth is twin.flow.auth, "a namespace without async methods is handed through"
    finally:
        twin.close()
