"""Every method the CLIClient reference documents exists with its documented parameters and defaults,
and the constructor builds every documented namespace."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from flow_sdk import CLIClient, FlowConfig
from flow_sdk import cli_namespaces as client_namespaces

P = inspect.Parameter
POS = P.POSITIONAL_OR_KEYWORD
KW = P.KEYWORD_ONLY
NO = P.empty

# (method, is staticmethod, [(name, kind, default)]) exactly as the reference lists them.
DOCUMENTED: list[tuple[str, bool, list[tuple[str, Any, Any]]]] = [
    ("__init__", False, [("self", POS, NO), ("config", POS, NO)]),
    ("exchange_api_key", True, [("platform_url", POS, NO), ("api_key", POS, NO), ("ttl_minutes", POS, 60)]),
    ("create_cli_login_request", True, [("platform_url", POS, NO)]),
    ("get_current_user_with_token", True, [("platform_url", POS, NO), ("access_token", POS, NO)]),
    ("create_component", False, [("self", POS, NO), ("component_type", POS, NO), ("data", POS, NO)]),
    ("list_orgs", False, [("self", POS, NO)]),
    ("list_workspaces", False, [("self", POS, NO), ("org_id", POS, NO)]),
    ("verify_credentials", False, [("self", POS, NO)]),
    ("get_current_user", False, [("self", POS, NO)]),
    (
        "execute_ddl",
        False,
        [
            ("self", POS, NO),
            ("instance_id", POS, NO),
            ("sql", POS, NO),
            ("confirm", KW, False),
            ("scope_type", KW, "workspace"),
            ("scope_id", KW, None),
            ("reason", KW, None),
        ],
    ),
    (
        "invoke_service",
        False,
        [
            ("self", POS, NO),
            ("service_id", POS, NO),
            ("method", POS, NO),
            ("path", POS, NO),
            ("body", KW, None),
            ("query", KW, None),
            ("version", KW, None),
        ],
    ),
]

NAMESPACES = {
    "agents": ("ComponentTypeNamespace", "agent"),
    "models": ("ComponentTypeNamespace", "model"),
    "tools": ("ToolsNamespace", "tool"),
    "prompts": ("ComponentTypeNamespace", "prompt"),
    "code_blocks": ("CodeBlocksNamespace", "code_block"),
    "workflows": ("WorkflowsNamespace", "workflow"),
    "transforms": ("ComponentTypeNamespace", "transform"),
    "validations": ("ComponentTypeNamespace", "validation"),
    "schemas": ("ComponentTypeNamespace", "schema"),
    "states": ("ComponentTypeNamespace", "state"),
    "observability": ("ComponentTypeNamespace", "observability"),
    "solutions": ("SolutionsNamespace", "solution"),
    "connectors": ("CLIConnectorsNamespace", "connector"),
    "connector_instances": ("CLIConnectorInstancesNamespace", "connector_instance"),
    "datasets": ("CLIDatasetsNamespace", None),
    "component_deployments": ("CLIComponentDeploymentsNamespace", "component_deployment"),
    "workflow_deployments": ("CLIWorkflowDeploymentsNamespace", "workflow_deployment"),
    "rings": ("CLIRingsNamespace", "ring"),
    "component_backups": ("CLIComponentBackupsNamespace", "component_backup"),
    "hosted_services": ("CLIHostedServicesNamespace", "hosted_service"),
    "policies": ("CLIPoliciesNamespace", "policy"),
    "webhooks": ("CLIWebhooksNamespace", "webhook"),
    "mcp_servers": ("CLIMcpServersNamespace", "mcp_server"),
    "experiments": ("CLIExperimentsNamespace", "experiment"),
}


@pytest.mark.parametrize(("name", "static", "expected"), DOCUMENTED, ids=[d[0] for d in DOCUMENTED])
def test_documented_method_signature(name: str, static: bool, expected: list[tuple[str, Any, Any]]) -> None:
    raw = inspect.getattr_static(CLIClient, name)
    assert isinstance(raw, staticmethod) is static
    parameters = inspect.signature(getattr(CLIClient, name)).parameters.values()
    assert [(p.name, p.kind, p.default) for p in parameters] == expected


def test_every_documented_namespace_is_built() -> None:
    client = CLIClient(FlowConfig("http://127.0.0.1:9", "t", "o", "w"))
    for attribute, (class_name, kind) in NAMESPACES.items():
        namespace = getattr(client, attribute)
        assert type(namespace).__name__ == class_name, attribute
        assert isinstance(namespace, getattr(client_namespaces, class_name))
        if kind is not None:
            assert kind in (getattr(namespace, "component_type", None), getattr(namespace, "kind", None)), (
                attribute
            )
        for method in ("list", "get", "create", "delete"):
            assert callable(getattr(namespace, method)), f"{attribute}.{method}"


def test_errors_are_reexported_from_the_module() -> None:
    from flow_sdk import cli_client
    from flow_sdk._errors import CLIAuthenticationError, CLIClientError

    assert cli_client.CLIClientError is CLIClientError
    assert cli_client.CLIAuthenticationError is CLIAuthenticationError
