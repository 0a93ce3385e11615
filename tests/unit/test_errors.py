"""Every status maps to its documented error class, with detail and request id, and no token leaks."""

from __future__ import annotations

import httpx
import pytest
from flow_unit_helpers import TOKEN, error_response, make_flow, make_platform

import flow_sdk
from flow_sdk import (
    CLIAuthenticationError,
    CLIClientError,
    FlowSDKError,
    GatewayAuthError,
    GatewayClientError,
    GatewayModelNotFoundError,
    GatewayProviderError,
    GatewayRateLimitError,
    PlatformAuthenticationError,
    PlatformClientError,
    PlatformExecutionError,
    PlatformNotFoundError,
    PlatformPermissionError,
)
from flow_sdk._errors import error_class_for, map_http_error

PLATFORM = [
    (400, PlatformClientError),
    (401, PlatformAuthenticationError),
    (403, PlatformPermissionError),
    (404, PlatformNotFoundError),
    (409, PlatformClientError),
    (422, PlatformClientError),
    (500, PlatformExecutionError),
    (503, PlatformClientError),
]
GATEWAY = [
    (400, GatewayClientError),
    (401, GatewayAuthError),
    (403, GatewayAuthError),
    (404, GatewayModelNotFoundError),
    (429, GatewayRateLimitError),
    (502, GatewayProviderError),
    (500, GatewayClientError),
]


@pytest.mark.parametrize(("status", "cls"), PLATFORM)
async def test_platform_status_maps_to_documented_class(status: int, cls: type, sleeps: list[float]) -> None:
    client = make_platform(
        lambda request: error_response(status, detail=f"detail {status}", request_id="rid-7")
    )
    with pytest.raises(cls) as info:
        await client._request("GET", "/api/v1/tenants/orgs")
    error = info.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.detail == f"detail {status}"
    assert error.code == "some_code"
    assert error.request_id == "rid-7"
    assert (error.method, error.path) == ("GET", "/api/v1/tenants/orgs")
    assert isinstance(error.__cause__, httpx.HTTPStatusError)
    assert TOKEN not in str(error) and TOKEN not in repr(error)
    await client.close()


@pytest.mark.parametrize(("status", "cls"), GATEWAY)
async def test_gateway_status_maps_to_documented_class(status: int, cls: type, sleeps: list[float]) -> None:
    flow = make_flow(lambda request: error_response(status, detail="gw", request_id="rid-8"))
    with pytest.raises(cls) as info:
        await flow.gateway.chat_completion(
            model="openai/gpt-4o", messages=[{"role": "user", "content": "hi"}]
        )
    assert type(info.value) is cls
    assert info.value.status_code == status and info.value.request_id == "rid-8" and info.value.detail == "gw"
    assert TOKEN not in str(info.value)
    await flow.close()


def test_cli_family_maps_401() -> None:
    assert error_class_for(401, "cli") is CLIAuthenticationError
    assert error_class_for(500, "cli") is CLIClientError


def test_every_error_is_a_flow_sdk_error() -> None:
    names = [name for name in flow_sdk.__all__ if name.endswith("Error")]
    assert len(names) >= 15
    for name in names:
        assert issubclass(getattr(flow_sdk, name), FlowSDKError), name


def test_non_json_error_body_keeps_text_detail() -> None:
    request = httpx.Request("POST", "http://x/api/v1/a", headers={"Authorization": f"Bearer {TOKEN}"})
    response = httpx.Response(502, text="Bad gateway upstream", request=request)
    error = map_http_error(response, "gateway")
    assert isinstance(error, GatewayProviderError)
    assert error.detail == "Bad gateway upstream" and error.request_id is None


def test_no_token_in_reprs(clean_env: None) -> None:
    from flow_sdk import FlowSDK, GatewayClient, PlatformClient

    flow = FlowSDK(auth_token=TOKEN, platform_url="http://x", org_id="o", workspace_id="w")
    objects = [
        flow,
        flow._session,
        flow._session.auth,
        flow.gateway,
        flow.services,
        flow.service.auth,
        PlatformClient(base_url="http://x", auth_token=TOKEN),
        GatewayClient(base_url="http://x", auth_token=TOKEN),
    ]
    for obj in objects:
        assert TOKEN not in repr(obj), type(obj)
        assert TOKEN not in str(obj), type(obj)


async def test_transport_error_message_has_no_token(sleeps: list[float]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused {request.url}", request=request)

    flow = make_flow(handler)
    with pytest.raises(PlatformClientError) as info:
        await flow.secrets.get("OPENAI_API_KEY")
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    await flow.close()
