"""The generated data types: flow_sdk._generated.types TypedDicts under strict mypy, flow_local._generated.models under pydantic v2."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, NotRequired, get_type_hints

import pydantic
import pytest
from mypy import api as mypy_api

from .conftest import ROOT

FACADE_STYLE_USE = """
from flow_sdk._generated.types import ChatCompletion, Error, Execution, ExecutionStatusValue


def answer(response: ChatCompletion) -> str | None:
    return response["choices"][0]["message"].get("content")


def field_of(error: Error) -> str | None:
    return error.get("field")


def status(execution: Execution) -> str:
    return execution["status"]


def is_terminal(status: ExecutionStatusValue) -> bool:
    return status in ("completed", "failed", "timeout", "cancelled")


def build() -> Error:
    return {"detail": "bad", "code": "validation_error", "request_id": "req_1"}
"""

MISUSE = """
from flow_sdk._generated.types import ChatCompletion, Error


def wrong_key(response: ChatCompletion) -> object:
    return response["choice"]


def nullable_field_as_str(error: Error) -> str:
    return error["field"]


def missing_required_key() -> Error:
    return {"detail": "bad", "code": "x"}
"""


def _mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    module = tmp_path / "usage.py"
    module.write_text(textwrap.dedent(source))
    stdout, stderr, status = mypy_api.run(
        [
            "--strict",
            "--python-version",
            "3.11",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "--config-file",
            "",
            str(module),
        ]
    )
    return stdout + stderr, status


def test_flow_types_pass_strict_mypy_when_used_like_the_facade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    output, status = _mypy(tmp_path, FACADE_STYLE_USE)
    assert status == 0, output


def test_strict_mypy_catches_misuse_of_flow_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    output, status = _mypy(tmp_path, MISUSE)
    assert status == 1
    assert 'TypedDict "ChatCompletion" has no key "choice"' in output
    assert 'Missing key "request_id"' in output
    assert 'Incompatible return value type (got "str | None", expected "str")' in output


def test_chat_completion_imports_and_marks_optional_keys_not_required() -> None:
    from flow_sdk._generated.types import ChatCompletion, ChatDelta, Error

    assert ChatCompletion.__required_keys__ == {"id", "object", "created", "model", "choices", "usage"}
    assert Error.__optional_keys__ == {"field"}
    assert ChatDelta.__required_keys__ == frozenset()
    hints = get_type_hints(Error, include_extras=True)
    assert hints["field"] == NotRequired[str | None]


def test_server_models_validate_with_pydantic_v2() -> None:
    import flow_local._generated.models as models

    assert pydantic.VERSION.startswith("2.")
    request = models.ChatCompletionRequest.model_validate(
        {"model": "offline/echo", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert request.messages[0].role == "user"
    with pytest.raises(pydantic.ValidationError, match="model"):
        models.ChatCompletionRequest.model_validate(
            {"model": "x", "messages": [{"role": "user", "content": "hi"}]}
        )
    with pytest.raises(pydantic.ValidationError, match="role"):
        models.ChatMessage.model_validate({"role": "developer", "content": "hi"})


def test_server_models_hold_plain_values_not_root_model_wrappers() -> None:
    import flow_local._generated.models as models

    component: Any = models.Component.model_validate(
        {
            "id": "c1",
            "component_type": "agent",
            "name": "n",
            "version": 1,
            "spec": {},
            "created_at": "2025-01-01T00:00:00Z",
            "updated_at": "2025-01-01T00:00:00Z",
        }
    )
    assert component.component_type == "agent"
    submit: Any = models.ExecutionSubmit.model_validate(
        {"component_type": "code_block", "component_id": "cb", "ring_id": "r", "input": {"a": 1}}
    )
    assert submit.component_type == "code_block"


def test_nullable_fields_accept_null_and_defaults_are_kept() -> None:
    import flow_local._generated.models as models

    error = models.Error.model_validate({"detail": "d", "code": "c", "request_id": "r", "field": None})
    assert error.field is None
    assert models.TokenRequest.model_validate({"api_key": "fl_x"}).ttl_minutes == 60
    with pytest.raises(pydantic.ValidationError):
        models.TokenRequest.model_validate({"api_key": "fl_x", "ttl_minutes": None})
