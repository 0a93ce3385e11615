"""The template overrides in codegen/templates, exercised through the generated client.

Each test fails against the stock openapi-python-client 0.29 templates. The server is an
``httpx.MockTransport`` (a function standing in for the remote platform), so the exact bytes and
headers each case needs can be produced.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus

import httpx
import pytest
from flow_platform_client import AuthenticatedClient, Client
from flow_platform_client.api.gateway import create_chat_completion, list_models
from flow_platform_client.api.services import invoke_service_get, invoke_service_version_post
from flow_platform_client.api.state import get_state_value
from flow_platform_client.api.storage import download_storage_object
from flow_platform_client.models import ChatCompletion, ChatCompletionRequest, ChatMessage, ModelList

BASE_URL = "http://platform.test"
CHAT_BODY = ChatCompletionRequest.from_dict(
    {"model": "offline/echo", "messages": [{"role": "user", "content": "hi"}]}
)
COMPLETION = {
    "id": "cmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "offline/echo",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


def _client(handler: Callable[[httpx.Request], httpx.Response], **options: object) -> Client:
    client = Client(base_url=BASE_URL, **options)  # type: ignore[arg-type]
    client.set_httpx_client(httpx.Client(base_url=BASE_URL, transport=httpx.MockTransport(handler)))
    return client


def _json(status: int, body: object) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body)


# --------------------------------------------------------------------------- path parameters with slashes


def test_storage_key_slashes_stay_unescaped_and_other_characters_are_quoted() -> None:
    kwargs = download_storage_object._get_kwargs(org_id="org-1", key="reports/2024 Q4/sales?.pdf")
    assert kwargs["url"] == "/api/v1/orgs/org-1/storage/objects/reports/2024%20Q4/sales%3F.pdf"


def test_service_path_slashes_stay_unescaped() -> None:
    assert invoke_service_get._get_kwargs(org_id="o", service_id="s", path="v1/items/42")["url"] == (
        "/api/v1/orgs/o/services/s/v1/items/42"
    )
    kwargs = invoke_service_version_post._get_kwargs(
        org_id="o", service_id="s", version=2, path="a/b", body=None
    )
    assert kwargs["url"] == "/api/v1/orgs/o/services/s/v2/a/b"


def test_parameters_without_the_extension_stay_fully_quoted() -> None:
    kwargs = get_state_value._get_kwargs(org_id="o/x", workspace_id="w", component_id="c", key="a/b")
    assert kwargs["url"] == "/api/v1/orgs/o%2Fx/workspaces/w/state/c/keys/a%2Fb"


def test_slashed_key_reaches_the_server_as_path_segments() -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path)
        return httpx.Response(200, content=b"%PDF", headers={"content-type": "application/octet-stream"})

    response = download_storage_object.sync_detailed(
        org_id="org-1", key="reports/q4.pdf", client=_client(handler)
    )
    assert response.status_code == 200 and response.content == b"%PDF"
    assert seen == [b"/api/v1/orgs/org-1/storage/objects/reports/q4.pdf"]


# --------------------------------------------------------------------------- default timeout


@pytest.mark.parametrize("client_class", [Client, AuthenticatedClient])
def test_default_timeout_is_finite(client_class: type[Client]) -> None:
    options = {"token": "t"} if client_class is AuthenticatedClient else {}
    client = client_class(base_url=BASE_URL, **options)  # type: ignore[arg-type]
    for timeout in (client.get_httpx_client().timeout, client.get_async_httpx_client().timeout):
        assert timeout.read is not None and 0 < timeout.read <= 300
        assert timeout.connect is not None and 0 < timeout.connect <= 30
    client.get_httpx_client().close()


def test_an_explicit_timeout_still_wins() -> None:
    client = Client(base_url=BASE_URL, timeout=httpx.Timeout(2.5))
    assert client.get_httpx_client().timeout == httpx.Timeout(2.5)


# --------------------------------------------------------------------------- status codes outside the IANA list


def test_status_code_outside_the_iana_list_does_not_raise() -> None:
    response = list_models.sync_detailed(client=_client(_json(520, {"detail": "origin error"})))
    assert response.status_code == 520
    assert response.parsed is None


def test_known_status_code_is_still_an_http_status() -> None:
    response = list_models.sync_detailed(client=_client(_json(200, {"object": "list", "data": []})))
    assert response.status_code is HTTPStatus.OK
    assert isinstance(response.parsed, ModelList)


# --------------------------------------------------------------------------- server-sent events


def test_event_stream_answer_is_not_parsed_as_json() -> None:
    stream = b'data: {"id": "c1"}\n\ndata: [DONE]\n\n'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=stream, headers={"content-type": "text/event-stream; charset=utf-8"}
        )

    response = create_chat_completion.sync_detailed(client=_client(handler), body=CHAT_BODY)
    assert response.status_code == 200
    assert response.parsed is None
    assert response.content == stream


def test_json_answer_of_the_same_operation_is_still_parsed() -> None:
    response = create_chat_completion.sync_detailed(client=_client(_json(200, COMPLETION)), body=CHAT_BODY)
    assert isinstance(response.parsed, ChatCompletion)
    assert response.parsed.choices[0].message.content == "hi"


# --------------------------------------------------------------------------- enum values the document does not list


def test_unlisted_enum_value_in_a_response_parses() -> None:
    completion = json.loads(json.dumps(COMPLETION))
    completion["choices"][0]["message"]["role"] = "developer"
    response = create_chat_completion.sync_detailed(client=_client(_json(200, completion)), body=CHAT_BODY)
    assert isinstance(response.parsed, ChatCompletion)
    assert response.parsed.choices[0].message.role == "developer"


def test_unlisted_enum_value_in_a_request_body_is_still_rejected() -> None:
    with pytest.raises(TypeError, match="developer"):
        ChatMessage.from_dict({"role": "developer", "content": "hi"})


# --------------------------------------------------------------------------- with_headers / with_timeout


def test_with_headers_keeps_the_custom_transport_and_leaves_the_original_alone() -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json={"object": "list", "data": []})

    parent = _client(handler)
    child = parent.with_headers({"X-Request-Id": "req-1"})
    assert list_models.sync_detailed(client=child).status_code == 200
    assert list_models.sync_detailed(client=parent).status_code == 200
    assert seen[0]["x-request-id"] == "req-1"
    assert "x-request-id" not in seen[1]


def test_with_headers_and_with_timeout_share_the_connection_pool() -> None:
    parent = AuthenticatedClient(base_url=BASE_URL, token="secret")
    child = parent.with_headers({"X-A": "1"}).with_timeout(httpx.Timeout(3.0))
    root_transport = parent.get_httpx_client()._transport
    child_transport = child.get_httpx_client()._transport
    while hasattr(child_transport, "_transport") and child_transport is not root_transport:
        child_transport = child_transport._transport
    assert child_transport is root_transport
    assert child.get_httpx_client().headers["authorization"] == "Bearer secret"
    assert child.get_httpx_client().headers["x-a"] == "1"
    assert child.get_httpx_client().timeout == httpx.Timeout(3.0)
    assert parent.get_httpx_client().timeout != httpx.Timeout(3.0)
    child.get_httpx_client().close()
    assert not parent.get_httpx_client().is_closed
    parent.get_httpx_client().close()


async def test_async_with_headers_keeps_the_custom_transport() -> None:
    seen: list[str | None] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-trace"))
        return httpx.Response(200, json={"object": "list", "data": []})

    parent = Client(base_url=BASE_URL)
    parent.set_async_httpx_client(
        httpx.AsyncClient(base_url=BASE_URL, transport=httpx.MockTransport(handler))
    )
    child = parent.with_timeout(httpx.Timeout(5.0)).with_headers({"X-Trace": "t-1"})
    response = await list_models.asyncio_detailed(client=child)
    assert response.status_code == 200
    await child.get_async_httpx_client().aclose()
    assert (await list_models.asyncio_detailed(client=parent)).status_code == 200
    assert seen == ["t-1", None]
    await parent.get_async_httpx_client().aclose()
