"""Every example file of the documentation runs against a local platform and prints what it promises.

The examples are complete programs configured the way the getting-started guide configures a shell
(the variables of ``flow local env``), so this runs each file as its own process with exactly those
variables. They run a few at a time against one platform; each file is then one test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from flow_local import LocalPlatform

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
AT_ONCE = 3

# What each example must print: one line of its output, checked as a substring.
EXPECTED = {
    "agents.py": 'The tool returned: {"sum": 5}',
    "audit.py": "two audit entries written for doc-1",
    "cli_client.py": "{'shout': 'HELLO'}",
    "client_options.py": "same execution: True",
    "code_blocks.py": "completed {'words': 3} 'counting\\n'",
    "code_blocks_cancel_and_failures.py": "failed: ZeroDivisionError: division by zero",
    "configuration.py": "verified: True",
    "connectors.py": "150 rows written by write job",
    "conversations.py": "assistant: You said: What were last quarter's revenue trends?",
    "data_datasets.py": "2 enterprise customers: ['Ada', 'Grace']",
    "data_memory.py": "forgot 1 memory",
    "data_secrets.py": "read a secret of 16 characters",
    "data_state.py": "{'runs': 3, 'greeting': 'hello Linus'}",
    "data_storage.py": "uploaded without a token",
    "data_storage_files.py": "downloaded 8 MiB; on disk: True",
    "data_vector.py": "chair: An ergonomic office chair with lumbar support",
    "errors.py": "configuration: SERVICE_ID is not set",
    "gateway_chat.py": "You said: Write a haiku about code.",
    "gateway_client.py": "offline/chat answered: You said: Hello, gateway",
    "gateway_embeddings.py": "384 dimensions",
    "gateway_stream_helpers.py": "finish reason: stop",
    "gateway_sync_stream.py": "sync stream finished: stop",
    "jobs.py": "completed {'report': 'QUARTERLY NUMBERS'}",
    "lists.py": "list() answered 5 objects",
    "lists_sync.py": "prompt versions: [1, 2]",
    "local_platform.py": "hello from a private platform",
    "platform_client.py": "completed {'product': 15}",
    "quickstart.py": "You said: What is the capital of France?",
    "request_context.py": "outside a request, the caller is None",
    "service_tokens.py": "'token_type': 'service_token', 'tenant_id': 't-123'",
    "services.py": "endpoints: ['/reports', '/summarize', '/whoami']",
    "services_chain.py": "own token: {'subject_id': 'service:frontdoor-",
    "sync_client.py": "You said: hello from sync code",
    "workflows.py": "output: {'words': 6}",
}
EXAMPLE_FILES = sorted(path.name for path in EXAMPLES.glob("*.py"))


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    """A local platform with a small runner pool and no model upstream, as a newcomer starts one."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("FLOW_UPSTREAM_BASE_URL", "FLOW_UPSTREAM_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
            patch.delenv(name, raising=False)
        patch.setenv("FLOW_LOCAL_RUNNER_WORKERS", "2")
        with LocalPlatform() as running:
            yield running


def _run(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        env=env,
        cwd=EXAMPLES,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def outcomes(
    platform: LocalPlatform, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run every example file once, a few at a time, with the variables of ``flow local env``."""
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(tmp_path_factory.mktemp("home")),
        "FLOW_CONFIG_DIR": str(tmp_path_factory.mktemp("flow-config")),
        **platform.env(),
    }
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        results = pool.map(lambda name: _run(name, env), EXAMPLE_FILES)
        return dict(zip(EXAMPLE_FILES, results, strict=True))


def test_every_example_file_has_an_expected_output() -> None:
    assert sorted(EXPECTED) == EXAMPLE_FILES


def test_no_example_shadows_a_standard_module() -> None:
    # A script's folder comes first on sys.path: secrets.py would hide the standard secrets module.
    shadowing = [name for name in EXAMPLE_FILES if name.removesuffix(".py") in sys.stdlib_module_names]
    assert shadowing == []


@pytest.mark.slow
@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_runs(name: str, outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = outcomes[name]
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    assert EXPECTED[name] in result.stdout, f"{name} printed:\n{result.stdout}"
