"""Error handling as the seeds show it, PlatformClient ``_request`` examples, and FlowSDK() from the environment."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import flow_sdk._transport as transport
from flow_local.harness import LocalPlatform
from flow_sdk import ConfigurationError, FlowSDK, FlowSDKError, PlatformClient
from flow_sdk.gateway_client import GatewayAuthError, GatewayRateLimitError
from flow_sdk.platform_client import (
    PlatformAuthenticationError,
    PlatformClientError,
    PlatformExecutionError,
    PlatformNotFoundError,
    PlatformPermissionError,
)

from .conftest import UPSTREAM_VARIABLES, created

GATEWAY_LIMIT = 5
BAD_TOKEN = "not-a-valid-jwt-token-value"


@pytest.fixture(scope="module")
def lp() -> Iterator[LocalPlatform]:
    """A local platform whose gateway allows only a few requests per minute per caller."""
    with pytest.MonkeyPatch.context() as patch:
        for name in UPSTREAM_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("FLOW_LOCAL_RUNNER_WORKERS", "1")
        platform = LocalPlatform(gateway_rate_limit=GATEWAY_LIMIT).start()
    try:
        yield platform
    finally:
        platform.stop()


async def seed_error_example(flow: FlowSDK) -> None:
    """The seed's error-handling example, verbatim apart from ``flow`` being passed in."""
    try:
        result = await flow.code_blocks.run(
            code_block_id="nonexistent-uuid",
            input_parameters={},
        )
        print(result)
    except PlatformNotFoundError:
        print("Code block not found")
    except PlatformAuthenticationError:
        print("Authentication expired -- token refresh needed")
    except GatewayRateLimitError:
        print("Rate limited -- back off and retry")
    except FlowSDKError as e:
        print(f"SDK error: {e}")


async def test_error_example_missing_code_block(flow: FlowSDK, capsys: pytest.CaptureFixture[str]) -> None:
    await seed_error_example(flow)
    assert capsys.readouterr().out == "Code block not found\n"


async def test_error_example_bad_token(
    runtime_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUTH_TOKEN", BAD_TOKEN)
    async with FlowSDK() as flow:
        await seed_error_example(flow)
        assert capsys.readouterr().out == "Authentication expired -- token refresh needed\n"
        with pytest.raises(PlatformAuthenticationError) as caught:
            await flow.code_blocks.run(code_block_id="nonexistent-uuid", input_parameters={})
    error = caught.value
    assert error.status_code == 401 and error.method == "POST" and "/executions" in str(error.path)
    assert error.request_id and error.code
    assert BAD_TOKEN not in str(error) and BAD_TOKEN not in repr(error)


async def test_error_carries_request_details(flow: FlowSDK) -> None:
    with pytest.raises(PlatformNotFoundError) as caught:
        await flow.code_blocks.run(code_block_id="nonexistent-uuid", input_parameters={})
    error = caught.value
    assert error.status_code == 404 and error.code == "not_found"
    assert "nonexistent-uuid" in str(error.detail)
    assert error.request_id and error.request_id.startswith("req_")
    assert flow._auth_token not in str(error)


async def test_other_tenant_is_refused(flow: FlowSDK, lp: LocalPlatform) -> None:
    other = lp.create_tenant("Other org")
    async with FlowSDK(
        org_id=other["org_id"], workspace_id=lp.workspace_id, auth_token=other["token"], platform_url=lp.url
    ) as intruder:
        with pytest.raises(PlatformNotFoundError, match="workspace"):
            await intruder.audit.log(action="x", resource_type="y", resource_id="z")
    async with FlowSDK(
        org_id=lp.org_id, workspace_id=lp.workspace_id, auth_token=other["token"], platform_url=lp.url
    ) as intruder:
        with pytest.raises(PlatformPermissionError) as caught:
            await intruder.storage.download("reports/q4-summary.pdf")
    assert caught.value.status_code == 403


async def test_gateway_rate_limit(lp: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def no_wait(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(transport, "async_sleep", no_wait)
    assert lp.platform is not None
    token = lp.platform.tokens.mint_user_token("rate-limited-user", lp.org_id)
    async with FlowSDK(
        org_id=lp.org_id, workspace_id=lp.workspace_id, auth_token=token, platform_url=lp.url
    ) as flow:
        for _ in range(GATEWAY_LIMIT):
            await flow.gateway.embedding(model="offline/embed", input="x")
        with pytest.raises(GatewayRateLimitError) as caught:
            await flow.gateway.embedding(model="offline/embed", input="x")
    assert caught.value.status_code == 429
    assert len(slept) == transport.DEFAULT_MAX_RETRIES, (
        "429 is retried, honouring Retry-After, before it surfaces"
    )


async def test_gateway_bad_token(runtime_env: dict[str, str]) -> None:
    async with FlowSDK(auth_token=BAD_TOKEN) as flow:
        with pytest.raises(GatewayAuthError) as caught:
            await flow.gateway.chat_completion(
                model="offline/chat", messages=[{"role": "user", "content": "hi"}]
            )
    assert caught.value.status_code == 401


async def test_platform_client_request_examples(
    runtime_env: dict[str, str], admin: httpx.Client, lp: LocalPlatform
) -> None:
    org_id, ws_id, dataset_id = lp.org_id, lp.workspace_id, "people"
    created(admin.post("/datasets", json={"id": dataset_id}))
    created(
        admin.post(
            f"/datasets/{dataset_id}/rows",
            json={"rows": [{"name": "Ada", "email": "ada@example.com", "x": 1}]},
        )
    )
    file_bytes = b"%PDF-1.4 client example"

    async with PlatformClient() as client:
        # GET request
        orgs = await client._request("GET", "/api/v1/tenants/orgs")
        assert [org["id"] for org in orgs] == [org_id]

        # POST with JSON body
        result = await client._request(
            "POST",
            f"/api/v1/orgs/{org_id}/workspaces/{ws_id}/datasets/{dataset_id}/query",
            json={"fields": ["name", "email"], "limit": 50},
        )
        assert result == {"rows": [{"name": "Ada", "email": "ada@example.com"}], "total": 1}

        # POST with query parameters
        result = await client._request(
            "GET",
            "/api/v1/gateway/v1/models",
            params={"scope": "organization"},
        )
        assert result["object"] == "list"

        # PUT with raw bytes
        await client._request(
            "PUT",
            f"/api/v1/orgs/{org_id}/storage/objects/my-file.pdf",
            content=file_bytes,
            headers={"Content-Type": "application/pdf"},
        )
        downloaded = await client._request("GET", f"/api/v1/orgs/{org_id}/storage/objects/my-file.pdf")
        assert downloaded == file_bytes, "a non-JSON answer comes back as raw bytes"


async def test_platform_client_error_mapping(runtime_env: dict[str, str]) -> None:
    outcome = ""
    async with PlatformClient() as client:
        try:
            await client._request("GET", "/api/v1/some/endpoint")
        except PlatformAuthenticationError:
            outcome = "401"
        except PlatformPermissionError:
            outcome = "403"
        except PlatformNotFoundError:
            outcome = "404"
        except PlatformExecutionError:
            outcome = "500"
        except PlatformClientError as e:
            outcome = f"other: {e}"
    assert outcome == "404"
    async with PlatformClient(auth_token=BAD_TOKEN) as client:
        with pytest.raises(PlatformAuthenticationError):
            await client._request("GET", "/api/v1/tenants/orgs")


async def test_flow_sdk_from_runtime_environment(lp: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in lp.env().items():
        monkeypatch.setenv(name, value)
    flow = FlowSDK()
    try:
        event = await flow.audit.log(action="env.configured", resource_type="sdk", resource_id="flow-sdk")
        assert event["actor"] == "local-admin"
        assert [e["id"] for e in await flow.audit.list(action="env.configured")] == [event["id"]]
        # RING_ID comes from the environment too: the submit reaches the server, which reports the missing block.
        with pytest.raises(PlatformNotFoundError, match="nonexistent-uuid"):
            await flow.code_blocks.submit(code_block_id="nonexistent-uuid", input_parameters={})
        answer = await flow.gateway.chat_completion(
            model="offline/echo", messages=[{"role": "user", "content": "env"}]
        )
        assert answer["choices"][0]["message"]["content"].endswith("env")
    finally:
        await flow.close()


async def test_flow_sdk_explicit_configuration(lp: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ORG_ID", "WORKSPACE_ID", "AUTH_TOKEN", "PLATFORM_API_URL", "GATEWAY_URL"):
        monkeypatch.delenv(name, raising=False)
    flow = FlowSDK(
        org_id=lp.org_id,
        workspace_id=lp.workspace_id,
        auth_token=lp.admin_token,
        platform_url=lp.url,
        gateway_url=lp.url,
    )
    try:
        response = await flow.gateway.chat_completion(
            model="offline/echo", messages=[{"role": "user", "content": "hi"}]
        )
        assert response["choices"][0]["message"]["content"].endswith("hi")
        assert (await flow.audit.log(action="explicit", resource_type="sdk", resource_id="1"))[
            "action"
        ] == "explicit"
    finally:
        await flow.close()


async def test_flow_sdk_without_configuration_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ORG_ID", "WORKSPACE_ID", "AUTH_TOKEN", "PLATFORM_API_URL", "GATEWAY_URL"):
        monkeypatch.delenv(name, raising=False)
    async with FlowSDK() as flow:
        with pytest.raises(ConfigurationError, match="ORG_ID"):
            await flow.audit.log(action="x", resource_type="y", resource_id="z")


async def test_billing_context_is_forwarded(
    lp: LocalPlatform, admin: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = created(
        admin.post(
            "/components/code_block", json={"name": "noop", "spec": {"source": "def main():\n    return 1\n"}}
        )
    )
    for name, value in lp.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PARENT_BILLING_TXN_ID", "txn-parent-123")
    monkeypatch.setenv("LIFECYCLE_EVENT", "test")
    async with FlowSDK() as flow:
        handle = await flow.code_blocks.submit(code_block_id=block["id"], input_parameters={})
        status = await flow.code_blocks.get_status(handle["execution_id"])
        await flow.code_blocks.await_result(handle["execution_id"], timeout_seconds=60)
    assert status["parent_billing_txn_id"] == "txn-parent-123"
    assert status["lifecycle_event"] == "test", "the caller's lifecycle event propagates to nested executions"
