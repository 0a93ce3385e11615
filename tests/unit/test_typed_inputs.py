"""mypy checks chat messages, tools and vector records against the document's TypedDicts, no cast needed."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api

ACCEPTED = """
from flow_sdk import FlowSDK


async def main(flow: FlowSDK) -> None:
    response = await flow.gateway.chat_completion(
        model="openai/gpt-4o",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ],
        temperature=0.7,
        max_tokens=256,
        tools=[{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
    )
    print(response["choices"][0]["message"]["content"])
    async for chunk in await flow.gateway.stream_chat_completion(
        model="anthropic/claude-sonnet-4-20250514",
        messages=[{"role": "user", "content": "Write a haiku about code."}],
    ):
        print(chunk["choices"][0]["delta"].get("content", ""), end="", flush=True)
    await flow.vector.upsert(index_id="docs", vectors=[{"id": "a", "values": [0.1, 0.2], "metadata": {"k": 1}}])
"""

REFUSED = """
from flow_sdk import FlowSDK


async def main(flow: FlowSDK) -> None:
    await flow.gateway.chat_completion(model="openai/gpt-4o", messages=[{"role": "robot", "content": "hi"}])
    await flow.vector.upsert(index_id="docs", vectors=[{"id": "a", "vals": [0.1]}])
"""


def check(tmp_path: Path, source: str) -> str:
    """mypy --strict's report on ``source``."""
    module = tmp_path / "example.py"
    module.write_text(textwrap.dedent(source))
    report, errors, _ = api.run(["--strict", "--follow-imports=silent", "--no-incremental", str(module)])
    return report + errors


def test_the_seed_examples_type_check_without_a_cast(tmp_path: Path) -> None:
    report = check(tmp_path, ACCEPTED)
    assert "Success: no issues found" in report, report


def test_a_wrong_role_or_record_key_is_a_type_error(tmp_path: Path) -> None:
    report = check(tmp_path, REFUSED)
    assert "Literal['robot']" in report, report
    assert 'Extra key "vals"' in report, report
