"""The public surface matches the seed documentation: names, parameters, keyword-only markers, defaults."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import flow_sdk
from flow_sdk.flow_sdk import FlowSDK
from flow_sdk.gateway_client import GatewayClient
from flow_sdk.platform_client import PlatformClient

KW = inspect.Parameter.KEYWORD_ONLY
REQ = inspect.Parameter.empty

# (callable, [(name, default, keyword_only)]) written from seeds 002 and 003.
SIGNATURES: list[tuple[Any, list[tuple[str, Any, bool]]]] = [
    (
        FlowSDK.__init__,
        [
            (n, None, True)
            for n in (
                "org_id",
                "workspace_id",
                "auth_token",
                "platform_url",
                "gateway_url",
                "service_id",
                "execution_id",
                "job_id",
                "request_id",
                "ring_id",
            )
        ],
    ),
    (
        FlowSDK.log,
        [
            ("action", REQ, False),
            ("resource_type", REQ, False),
            ("resource_id", REQ, False),
            ("details", None, False),
        ],
    ),
    (
        FlowSDK.bind_request_context,
        [("auth", None, True), ("execution", None, True), ("headers", None, True), ("service", None, True)],
    ),
    (FlowSDK.reset_request_context, [("token", REQ, False)]),
    (FlowSDK.refresh_auth_token, [("new_token", REQ, False)]),
    (FlowSDK.close, []),
    (
        PlatformClient.__init__,
        [
            ("base_url", None, False),
            ("auth_token", None, False),
            ("org_id", None, False),
            ("workspace_id", None, False),
            ("timeout", None, False),
            ("on_auth_token_refresh", None, False),
        ],
    ),
    (
        PlatformClient._request,
        [
            ("method", REQ, False),
            ("path", REQ, False),
            ("params", None, False),
            ("json", None, False),
            ("content", None, False),
            ("headers", None, False),
        ],
    ),
    (PlatformClient.get_service_skills, [("service_id", REQ, False), ("version", None, True)]),
    (
        PlatformClient.execute_code_block,
        [
            ("code_block_id", REQ, False),
            ("input_parameters", REQ, False),
            ("context", REQ, False),
            ("scope", "workspace", False),
            ("lifecycle_event", "workflow", False),
            ("timeout_seconds", 300, False),
            ("caller_deployment_id", None, False),
            ("ring_id", None, False),
        ],
    ),
    (
        PlatformClient.submit_code_block_execution,
        [
            ("code_block_id", REQ, False),
            ("input_parameters", REQ, False),
            ("config", None, False),
            ("lifecycle_event", "workflow", False),
            ("ring_id", None, False),
            ("timeout_seconds", 300, False),
        ],
    ),
    (
        PlatformClient.execute_agent,
        [
            ("agent_id", REQ, False),
            ("input_data", REQ, False),
            ("context", REQ, False),
            ("execution_mode", "inline", False),
            ("caller_deployment_id", None, False),
            ("ring_id", None, False),
            ("timeout_seconds", 300, False),
        ],
    ),
    (
        PlatformClient.execute_transform,
        [
            ("transform_id", REQ, False),
            ("input_data", REQ, False),
            ("context", REQ, False),
            ("caller_deployment_id", None, False),
        ],
    ),
    (
        PlatformClient.execute_workflow,
        [
            ("workflow_id", REQ, False),
            ("input_data", REQ, False),
            ("context", None, False),
            ("config", None, False),
            ("auto_deploy", True, False),
            ("lifecycle_event", "workflow", False),
            ("caller_deployment_id", None, False),
            ("ring_id", None, False),
            ("timeout_seconds", None, False),
        ],
    ),
    (
        PlatformClient.submit_workflow_execution,
        [
            ("workflow_id", REQ, False),
            ("input_data", REQ, False),
            ("config", None, False),
            ("lifecycle_event", "workflow", False),
            ("ring_id", None, False),
            ("timeout_seconds", 300, False),
        ],
    ),
    (
        PlatformClient.submit_agent_execution,
        [
            ("agent_id", REQ, False),
            ("input_data", REQ, False),
            ("config", None, False),
            ("lifecycle_event", "agent_run", False),
            ("ring_id", None, False),
            ("timeout_seconds", 300, False),
        ],
    ),
    (PlatformClient.get_execution_status, [("execution_id", REQ, False)]),
    (PlatformClient.cancel_execution, [("execution_id", REQ, False)]),
    (
        PlatformClient.await_execution_result,
        [
            ("execution_id", REQ, False),
            ("timeout_seconds", 300, True),
            ("poll_interval_seconds", 0.5, True),
            ("not_found_retry_seconds", 30.0, True),
        ],
    ),
    (PlatformClient.fetch_execution_input, [("deployment_id", REQ, False), ("execution_id", REQ, False)]),
    (
        PlatformClient.push_execution_output,
        [
            ("deployment_id", REQ, False),
            ("execution_id", REQ, False),
            ("output", REQ, False),
            ("usage", None, False),
            ("messages", None, False),
            ("state", None, False),
            ("error", None, False),
        ],
    ),
    (
        PlatformClient.push_execution_event,
        [
            ("deployment_id", REQ, False),
            ("execution_id", REQ, False),
            ("event_type", REQ, False),
            ("event_data", REQ, False),
        ],
    ),
    (PlatformClient.publish_execution_status, [("execution_id", REQ, False), ("status", REQ, False)]),
    (PlatformClient.close, []),
]


@pytest.mark.parametrize(("func", "expected"), SIGNATURES, ids=lambda v: getattr(v, "__qualname__", ""))
def test_signature_matches_seed(func: Any, expected: list[tuple[str, Any, bool]]) -> None:
    params = [p for p in inspect.signature(func).parameters.values() if p.name != "self"]
    actual = [(p.name, p.default, p.kind == KW) for p in params]
    assert actual == expected


def test_seed_000_calls_bind() -> None:
    """Keyword names used by the seed 000 examples exist on the namespace methods."""
    from flow_sdk.namespaces.code_blocks import CodeBlocksNamespace
    from flow_sdk.namespaces.connectors import ConnectorsNamespace
    from flow_sdk.namespaces.datasets import DatasetsNamespace
    from flow_sdk.namespaces.memory import MemoryNamespace
    from flow_sdk.namespaces.service_tokens import ServiceTokensNamespace
    from flow_sdk.namespaces.storage import StorageNamespace
    from flow_sdk.namespaces.vector import VectorNamespace

    inspect.signature(CodeBlocksNamespace.run).bind(
        None, code_block_id="c", input_parameters={}, ring_id="r", result_mode="output"
    )
    inspect.signature(CodeBlocksNamespace.await_result).bind(None, "ex", timeout_seconds=120)
    inspect.signature(DatasetsNamespace.vector_query).bind(
        None,
        dataset_id="d",
        embedding=[0.1],
        vector_field="v",
        top_k=5,
        distance_metric="cosine",
        fields=["t"],
    )
    inspect.signature(ConnectorsNamespace.execute_ddl).bind(
        None, connector_instance_id="i", sql="s", confirm=False
    )
    inspect.signature(StorageNamespace.upload).bind(None, key="k", data=b"", content_type="application/pdf")
    inspect.signature(StorageNamespace.presign_put).bind(None, "k", ttl_seconds=600)
    inspect.signature(VectorNamespace.search).bind(None, index_id="i", query_embedding=[0.1], top_k=5)
    inspect.signature(MemoryNamespace.forget).bind(None, vector_ids=["a"], namespace="n")
    mint = inspect.signature(ServiceTokensNamespace.mint)
    assert mint.parameters["ttl_minutes"].default == 60 and mint.parameters["ttl_minutes"].kind == KW
    assert mint.parameters["service_id"].default is None and mint.parameters["service_id"].kind == KW


def test_eighteen_namespaces() -> None:
    names = [
        "gateway",
        "datasets",
        "code_blocks",
        "agents",
        "workflows",
        "services",
        "connectors",
        "state",
        "secrets",
        "storage",
        "vector",
        "memory",
        "auth",
        "audit",
        "jobs",
        "service_tokens",
        "conversations",
        "service",
    ]
    flow = FlowSDK(org_id="o", workspace_id="w", auth_token="t", platform_url="http://x")
    for name in names:
        assert getattr(flow, name) is getattr(flow, name), name


def test_gateway_client_methods() -> None:
    for name in (
        "chat_completion",
        "stream_chat_completion",
        "embedding",
        "embeddings",
        "list_models",
        "close",
    ):
        assert inspect.iscoroutinefunction(getattr(GatewayClient, name)), name


def test_all_is_sorted_and_complete() -> None:
    assert flow_sdk.__all__ == sorted(flow_sdk.__all__)
    required = {
        "FlowSDK",
        "FlowSDKError",
        "PlatformClient",
        "GatewayClient",
        "CLIClient",
        "FlowConfig",
        "PlatformClientError",
        "PlatformAuthenticationError",
        "PlatformPermissionError",
        "PlatformNotFoundError",
        "PlatformExecutionError",
        "GatewayClientError",
        "GatewayAuthError",
        "GatewayModelNotFoundError",
        "GatewayRateLimitError",
        "GatewayProviderError",
        "CLIClientError",
        "CLIAuthenticationError",
    }
    assert required <= set(flow_sdk.__all__)
    from flow_sdk import _errors

    public_errors = {name for name in dir(_errors) if name.endswith("Error") and not name.startswith("_")}
    assert public_errors <= set(flow_sdk.__all__)


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = "import sys, flow_sdk; print(sorted(m for m in sys.modules if m.split('.')[0] in "
    code += "('httpx', 'flow_sdk._generated.client', 'flow_sdk._generated.types', 'nats', 'flow_sdk')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert eval(out) == ["flow_sdk"]
