"""The route table: every operation of the document is routed, and served by a backend method of its own."""

from __future__ import annotations

import importlib
import inspect

import pytest

from flow_local._generated.routers._support import OperationRoute
from flow_local.app import routers
from flow_local.spec import load_document

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
BACKENDS = {
    "audit": "flow_local.areas.audit:AuditBackend",
    "auth": "flow_local.areas.auth:AuthBackend",
    "catalog": "flow_local.areas.catalog:CatalogBackend",
    "connectors": "flow_local.areas.connectors:ConnectorsBackend",
    "conversations": "flow_local.areas.conversations:ConversationsBackend",
    "datasets": "flow_local.areas.datasets:DatasetsBackend",
    "executions": "flow_local.areas.executions:ExecutionsBackend",
    "gateway": "flow_local.gateway.backend:GatewayBackend",
    "jobs": "flow_local.areas.jobs:JobsBackend",
    "memory": "flow_local.areas.memory:MemoryBackend",
    "resources": "flow_local.areas.resources:ResourcesBackend",
    "secrets": "flow_local.areas.secrets:SecretsBackend",
    "services": "flow_local.areas.services:HostedServicesBackend",
    "state": "flow_local.areas.state:StateBackend",
    "storage": "flow_local.areas.storage:StorageBackend",
    "system": "flow_local.areas.system:SystemBackend",
    "tenants": "flow_local.areas.tenants:TenantsBackend",
    "vector": "flow_local.areas.vector:VectorBackend",
}


def _document_operations() -> set[tuple[str, str]]:
    return {
        (method.upper(), operation["operationId"])
        for item in load_document()["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def test_every_operation_of_the_document_is_routed_once() -> None:
    routed = [
        (method, route.operation_id)
        for router in routers()
        for route in router.routes
        if isinstance(route, OperationRoute)
        for method in route.methods or ()
    ]
    assert sorted(routed) == sorted(_document_operations())


@pytest.mark.parametrize("tag", sorted(BACKENDS))
def test_each_backend_implements_every_operation_of_its_tag(tag: str) -> None:
    module_name, class_name = BACKENDS[tag].split(":")
    backend = getattr(importlib.import_module(module_name), class_name)
    routers = importlib.import_module(f"flow_local._generated.routers.{tag}")
    protocol = next(
        obj for name, obj in vars(routers).items() if name.endswith("Operations") and inspect.isclass(obj)
    )
    assert protocol in backend.__mro__
    operations = [name for name, value in vars(protocol).items() if inspect.iscoroutinefunction(value)]
    assert operations
    missing = [name for name in operations if getattr(backend, name) is getattr(protocol, name)]
    assert missing == [], f"{class_name} leaves {missing} to the Protocol's empty body"
