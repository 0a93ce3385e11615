"""Tests of a user's own code against a local platform, with the fixtures of the flow_local plugin.

Run them with ``pytest examples/testing`` (the plugin comes with ``pip install 'manifest-flow-sdk[local]'``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.mark.asyncio
async def test_word_count_block(flow, flow_cli):
    """Create the code block in this test's own workspace, run it, read its output and stdout."""
    source = (HERE / "word_count.py").read_text()
    flow_cli.code_blocks.create({"id": "word-count", "name": "word count", "spec": {"source": source}})

    result = await flow.code_blocks.run(code_block_id="word-count", input_parameters={"text": "a b c"})

    assert result["output"] == {"words": 3}
    assert "counting 5 characters" in result["stdout"]


def test_greeter_service(flow_cli):
    """Deploy the service to this test's workspace and call it twice: its state counts the calls."""
    flow_cli.hosted_services.deploy("greeter", "main:app", source_dir=str(HERE / "greeter_service"))

    first = flow_cli.invoke_service("greeter", "GET", "/hello/Ada")
    second = flow_cli.invoke_service("greeter", "GET", "/hello/Ada")

    assert first == {"greeting": "Hello, Ada!", "count": 1}
    assert second["count"] == 2


def test_each_test_has_its_own_workspace(flow_cli):
    """Nothing from the other tests is visible here: every test gets a fresh org and workspace."""
    assert flow_cli.hosted_services.list() == []
