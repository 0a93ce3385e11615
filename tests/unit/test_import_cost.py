"""What ``from flow_sdk import FlowSDK`` and building a client load on top of httpx.

The import figure of ``nox -s bench`` compares that import with ``import httpx``; these tests pin the
modules behind it, so that an import added at the top of a module on that path shows up here, not as a
slower benchmark weeks later. They look at ``sys.modules`` of a fresh interpreter and time nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys

# httpx imports its command line client (click, rich, pygments, and through them uuid and platform)
# when those are installed; a user without them gets the bare library. Blocking that one module makes
# the interpreter look like theirs, so the check also covers what the command line client would hide.
LOADED_BEYOND_HTTPX = """
import json, sys
sys.modules["httpx._main"] = None
import httpx
before = set(sys.modules)
from flow_sdk import FlowSDK
flow = FlowSDK(org_id="o", workspace_id="w", auth_token="t", platform_url="http://127.0.0.1:9")
flow.with_options(timeout=5)
print(json.dumps(sorted(set(sys.modules) - before)))
"""

# Modules that building a client does not need: each is loaded by the first call that does.
DEFERRED = (
    "asyncio",
    "uuid",
    "platform",
    "dataclasses",
    "importlib.metadata",
    "aiohttp",
    "httpx_aiohttp",
    "nats",
    "typer",
    "flow_sdk._generated",
    "flow_sdk.raw_response",
    "flow_sdk.namespaces",
    "flow_sdk.platform_client",
    "flow_sdk.gateway_client",
    "flow_sdk.config",
    "flow_sdk.types",
)

# Everything of the SDK that constructing a FlowSDK needs.
FACADE_PATH = [
    "flow_sdk",
    "flow_sdk._errors",
    "flow_sdk._logging",
    "flow_sdk._metadata",
    "flow_sdk._requests",
    "flow_sdk._transport",
    "flow_sdk.flow_sdk",
]


def loaded_beyond_httpx() -> list[str]:
    """The modules a fresh interpreter loads for ``from flow_sdk import FlowSDK`` and one client."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED_BEYOND_HTTPX], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_building_a_client_loads_none_of_the_deferred_modules() -> None:
    loaded = loaded_beyond_httpx()
    heavy = [name for name in loaded if any(name == d or name.startswith(f"{d}.") for d in DEFERRED)]
    assert heavy == []


def test_of_the_sdk_only_the_facade_path_is_loaded() -> None:
    loaded = loaded_beyond_httpx()
    assert [name for name in loaded if name.split(".")[0] == "flow_sdk"] == FACADE_PATH


def test_the_deferred_modules_load_with_the_first_use_that_needs_them() -> None:
    code = (
        "import sys\n"
        "from flow_sdk import FlowSDK\n"
        "flow = FlowSDK(org_id='o', workspace_id='w', auth_token='t', platform_url='http://127.0.0.1:9')\n"
        "flow.with_raw_response.state\n"
        "flow.vector\n"
        "import flow_sdk\n"
        "print(flow_sdk.__version__)\n"
        "print(all(m in sys.modules for m in ('flow_sdk.raw_response', 'flow_sdk.namespaces.vector', "
        "'flow_sdk._generated.client.enums', 'importlib.metadata')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    version, all_loaded = done.stdout.split()
    assert version and version[0].isdigit()
    assert all_loaded == "True"
