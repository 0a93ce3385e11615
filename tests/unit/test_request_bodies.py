"""Request bodies checked by the generated models: what is sent equals the model's own ``to_dict()``."""

from __future__ import annotations

from typing import Any

import pytest

from flow_sdk._errors import FlowSDKError
from flow_sdk._requests import CheckedBody, body_model, endpoint, json_round_trips, model_class

CHAT = {
    "model": "offline/echo",
    "messages": [
        {"role": "user", "content": "hi", "name": None},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}, "x": 1}
            ],
        },
    ],
    "stream": False,
    "temperature": 0.5,
    "top_p": None,
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "vendor_option": {"a": [1, 2]},
}


def test_checked_body_sends_what_the_model_would_send() -> None:
    body = body_model("ChatCompletionRequest", CHAT)
    assert isinstance(body, CheckedBody)
    assert body.to_dict() == body.model.to_dict()
    assert "top_p" not in body.to_dict() and body.temperature == 0.5
    kwargs: dict[str, Any] = endpoint("gateway", "create_chat_completion")._get_kwargs(body=body)
    assert kwargs["json"] == body.model.to_dict() and kwargs["method"] == "post"


@pytest.mark.parametrize(
    ("model_name", "data", "word"),
    [
        ("ChatCompletionRequest", {"messages": [{"role": "user", "content": "x"}]}, "model"),
        ("ChatCompletionRequest", {"model": "a/b", "messages": [{"role": "robot", "content": "x"}]}, "robot"),
    ],
)
def test_invalid_body_names_the_problem(model_name: str, data: dict[str, Any], word: str) -> None:
    with pytest.raises(FlowSDKError, match=word) as caught:
        body_model(model_name, data)
    assert caught.value.code == "invalid_request" and model_name in caught.value.message


def test_models_with_converted_fields_are_sent_through_to_dict() -> None:
    assert json_round_trips(model_class("ChatCompletionRequest"))
    assert not json_round_trips(model_class("Job"))
    job = body_model(
        "Job",
        {
            "job_id": "j1",
            "status": "queued",
            "lane": "standard",
            "endpoint_path": "/x",
            "created_at": "2024-01-02T03:04:05Z",
        },
    )
    assert not isinstance(job, CheckedBody)
    assert job.to_dict()["created_at"] == "2024-01-02T03:04:05+00:00"
