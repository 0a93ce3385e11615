"""The namespaces of :class:`~flow_sdk.cli_client.CLIClient`: small classes over the generated builders.

- :class:`ComponentTypeNamespace`: ``components/{component_type}`` (list, get, create, update, delete,
  versions); code blocks and workflows add durable runs.
- :class:`ResourceNamespace`: ``resources/{resource_kind}`` (list, get, create, update, delete); backups
  add backup/restore, hosted services add versions, deploy, health, logs and invoke, connector
  instances add operations and DDL.
- :class:`CLIDatasetsNamespace`: ``datasets`` (list, get, create, delete, rows, query, vector query).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from flow_sdk._errors import CLIClientError, FlowSDKError
from flow_sdk._generated.client.catalog import (
    build_delete_component_request,
    build_get_component_request,
    build_list_component_versions_request,
    build_list_components_request,
    build_update_component_request,
)
from flow_sdk._generated.client.connectors import build_execute_connector_operation_request
from flow_sdk._generated.client.datasets import (
    build_create_dataset_request,
    build_delete_dataset_request,
    build_get_dataset_request,
    build_insert_dataset_rows_request,
    build_list_datasets_request,
    build_query_dataset_request,
    build_vector_query_dataset_request,
)
from flow_sdk._generated.client.enums import COMPONENT_TYPE
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.client.resources import (
    build_create_resource_request,
    build_delete_resource_request,
    build_get_resource_request,
    build_list_resource_versions_request,
    build_list_resources_request,
    build_restore_component_backup_request,
    build_update_resource_request,
)
from flow_sdk._generated.client.services import (
    build_deploy_hosted_service_version_request,
    build_get_hosted_service_health_request,
    build_get_hosted_service_logs_request,
    build_list_hosted_service_versions_request,
    build_undeploy_hosted_service_version_request,
)
from flow_sdk._generated.types import (
    Component,
    ComponentType,
    ComponentUpdate,
    ComponentVersion,
    ConnectorOperationResult,
    Dataset,
    DatasetCreate,
    DatasetQuery,
    DatasetQueryResult,
    DatasetRowsInserted,
    DatasetVectorQuery,
    DatasetVectorQueryResult,
    DdlResult,
    Execution,
    ExecutionHandle,
    ExecutionResult,
    HostedServiceDeploy,
    HostedServiceHealth,
    HostedServiceLogs,
    HostedServiceVersion,
    JsonObject,
    Resource,
    ResourceCreate,
    ResourceKind,
    ResourceUpdate,
    ResourceVersion,
)
from flow_sdk._pages import MAX_PAGE_SIZE, PageBuilder
from flow_sdk._polling import ResultMode, StatusCallback, unwrap_result
from flow_sdk._requests import checked_body, choose

if TYPE_CHECKING:
    from flow_sdk.cli_client import CLIClient

__all__ = [
    "COMPONENT_TYPES",
    "CLIComponentBackupsNamespace",
    "CLIComponentDeploymentsNamespace",
    "CLIConnectorInstancesNamespace",
    "CLIConnectorsNamespace",
    "CLIDatasetsNamespace",
    "CLIExperimentsNamespace",
    "CLIHostedServicesNamespace",
    "CLIMcpServersNamespace",
    "CLIPoliciesNamespace",
    "CLIRingsNamespace",
    "CLIWebhooksNamespace",
    "CLIWorkflowDeploymentsNamespace",
    "CodeBlocksNamespace",
    "ComponentTypeNamespace",
    "ResourceNamespace",
    "SolutionsNamespace",
    "ToolsNamespace",
    "WorkflowsNamespace",
]

COMPONENT_TYPES: tuple[ComponentType, ...] = COMPONENT_TYPE
"""The component types the document allows."""
Json = dict[str, Any]
ResultT = TypeVar("ResultT")
ItemT = TypeVar("ItemT")


class _Namespace:
    """A group of CLIClient methods bound to one client."""

    def __init__(self, client: CLIClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def _send(self, api: ApiRequest[ResultT]) -> ResultT:
        return self._client.send_request(api)

    def _iterate(self, build: PageBuilder[ItemT]) -> Iterator[ItemT]:
        return self._client._iterate(build)


# ---------------------------------------------------------------------- components
class ComponentTypeNamespace(_Namespace):
    """CRUD and versions of one component type (``.../components/{component_type}``)."""

    def __init__(self, client: CLIClient, component_type: str) -> None:
        super().__init__(client)
        try:
            self.component_type: ComponentType = choose(component_type, COMPONENT_TYPE, "component_type")
        except FlowSDKError as exc:
            raise CLIClientError(f"unknown component type: {exc.message}") from None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.component_type}>"

    def list(self, *, limit: int = 100, offset: int = 0) -> builtins.list[Component]:
        """List components of this type (``GET .../components/{type}``)."""
        org_id, workspace_id = self._client._tenant()
        return self._send(
            build_list_components_request(
                org_id, workspace_id, self.component_type, limit=limit, offset=offset
            )
        )

    def iter(self, *, page_size: int = 100) -> Iterator[Component]:
        """Every component of this type, oldest first, fetched a page at a time (``GET .../components/{type}``)."""
        org_id, workspace_id = self._client._tenant()

        def page(cursor: str | None) -> ApiRequest[builtins.list[Component]]:
            return build_list_components_request(
                org_id, workspace_id, self.component_type, limit=page_size, cursor=cursor
            )

        return self._iterate(page)

    def get(self, component_id: str) -> Component:
        """One component at its latest version (``GET .../components/{type}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        return self._send(
            build_get_component_request(org_id, workspace_id, self.component_type, component_id)
        )

    def create(self, data: Json) -> Component:
        """Create a component from ``{"name", "spec", "id"?, "description"?}`` (``POST .../components/{type}``)."""
        return self._client.create_component(self.component_type, data)

    def update(self, component_id: str, data: Json) -> Component:
        """Update name, description or spec; makes a new version (``PUT .../components/{type}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        body = checked_body(data, ComponentUpdate)
        return self._send(
            build_update_component_request(org_id, workspace_id, self.component_type, component_id, body=body)
        )

    def delete(self, component_id: str) -> None:
        """Delete a component and its versions (``DELETE .../components/{type}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        self._send(build_delete_component_request(org_id, workspace_id, self.component_type, component_id))

    def versions(self, component_id: str) -> builtins.list[ComponentVersion]:
        """Every version of a component, oldest first (``GET .../components/{type}/{id}/versions``).

        The platform answers a page at a time; this reads them all. :meth:`iter_versions` reads them as
        needed.
        """
        return builtins.list(self.iter_versions(component_id, page_size=MAX_PAGE_SIZE))

    def iter_versions(self, component_id: str, *, page_size: int = 100) -> Iterator[ComponentVersion]:
        """Every version of a component, oldest first, fetched a page at a time
        (``GET .../components/{type}/{id}/versions``)."""
        org_id, workspace_id = self._client._tenant()

        def page(cursor: str | None) -> ApiRequest[builtins.list[ComponentVersion]]:
            return build_list_component_versions_request(
                org_id, workspace_id, self.component_type, component_id, limit=page_size, cursor=cursor
            )

        return self._iterate(page)


class ToolsNamespace(ComponentTypeNamespace):
    """Tools (``components/tool``)."""

    def __init__(self, client: CLIClient) -> None:
        super().__init__(client, "tool")


class _ExecutableNamespace(ComponentTypeNamespace):
    """A component type that runs as a durable execution (code blocks, workflows)."""

    def submit(
        self,
        component_id: str,
        input_data: Json | None = None,
        *,
        ring_id: str | None = None,
        timeout_seconds: int = 300,
    ) -> ExecutionHandle:
        """Submit an execution and return its handle (``POST .../executions``)."""
        return self._client.submit_execution(
            self.component_type, component_id, input_data, ring_id=ring_id, timeout_seconds=timeout_seconds
        )

    @overload
    def run(
        self,
        component_id: str,
        input_data: Json | None = None,
        *,
        ring_id: str | None = None,
        timeout_seconds: int = 300,
        result_mode: Literal["envelope"] = "envelope",
        on_status: StatusCallback | None = None,
    ) -> ExecutionResult: ...

    @overload
    def run(
        self,
        component_id: str,
        input_data: Json | None = None,
        *,
        ring_id: str | None = None,
        timeout_seconds: int = 300,
        result_mode: ResultMode,
        on_status: StatusCallback | None = None,
    ) -> Any: ...

    def run(
        self,
        component_id: str,
        input_data: Json | None = None,
        *,
        ring_id: str | None = None,
        timeout_seconds: int = 300,
        result_mode: ResultMode = "envelope",
        on_status: StatusCallback | None = None,
    ) -> Any:
        """Submit and wait for the result (``.../executions`` then ``.../result?wait_seconds=``).

        Raises:
            PlatformExecutionError: The execution failed or was cancelled.
            ExecutionTimeoutError: It did not finish in time.
        """
        handle = self.submit(component_id, input_data, ring_id=ring_id, timeout_seconds=timeout_seconds)
        envelope = self._client.await_execution_result(
            str(handle["execution_id"]), timeout_seconds=timeout_seconds + 30, on_status=on_status
        )
        return unwrap_result(envelope, result_mode)

    def get_status(self, execution_id: str) -> Execution:
        """Status of an execution (``GET .../executions/{id}``)."""
        return self._client.get_execution(execution_id)

    def cancel(self, execution_id: str) -> Execution:
        """Best-effort cancellation (``POST .../executions/{id}/cancel``)."""
        return self._client.cancel_execution(execution_id)


class CodeBlocksNamespace(_ExecutableNamespace):
    """Code blocks (``components/code_block``) and their durable runs."""

    def __init__(self, client: CLIClient) -> None:
        super().__init__(client, "code_block")


class WorkflowsNamespace(_ExecutableNamespace):
    """Workflows (``components/workflow``) and their durable runs."""

    def __init__(self, client: CLIClient) -> None:
        super().__init__(client, "workflow")


# ---------------------------------------------------------------------- resources
class ResourceNamespace(_Namespace):
    """CRUD of one resource kind (``.../resources/{resource_kind}``)."""

    kind: ResourceKind

    def list(self, *, limit: int = 100, offset: int = 0) -> builtins.list[Resource]:
        """List resources of this kind (``GET .../resources/{kind}``)."""
        org_id, workspace_id = self._client._tenant()
        return self._send(
            build_list_resources_request(org_id, workspace_id, self.kind, limit=limit, offset=offset)
        )

    def iter(self, *, page_size: int = 100) -> Iterator[Resource]:
        """Every resource of this kind, oldest first, fetched a page at a time (``GET .../resources/{kind}``)."""
        org_id, workspace_id = self._client._tenant()

        def page(cursor: str | None) -> ApiRequest[builtins.list[Resource]]:
            return build_list_resources_request(
                org_id, workspace_id, self.kind, limit=page_size, cursor=cursor
            )

        return self._iterate(page)

    def get(self, resource_id: str) -> Resource:
        """One resource (``GET .../resources/{kind}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        return self._send(build_get_resource_request(org_id, workspace_id, self.kind, resource_id))

    def create(self, data: Json) -> Resource:
        """Create a resource from ``{"name", "spec", "id"?, "description"?}`` (``POST .../resources/{kind}``)."""
        org_id, workspace_id = self._client._tenant()
        body = checked_body(data, ResourceCreate)
        return self._send(build_create_resource_request(org_id, workspace_id, self.kind, body=body))

    def update(self, resource_id: str, data: Json) -> Resource:
        """Update a resource; makes a new version (``PUT .../resources/{kind}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        body = checked_body(data, ResourceUpdate)
        return self._send(
            build_update_resource_request(org_id, workspace_id, self.kind, resource_id, body=body)
        )

    def delete(self, resource_id: str) -> None:
        """Delete a resource (``DELETE .../resources/{kind}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        self._send(build_delete_resource_request(org_id, workspace_id, self.kind, resource_id))

    def versions(self, resource_id: str) -> builtins.list[ResourceVersion]:
        """Every saved version of a resource, oldest first (``GET .../resources/{kind}/{id}/versions``).

        The platform answers a page at a time; this reads them all. :meth:`iter_versions` reads them as
        needed.
        """
        return builtins.list(self.iter_versions(resource_id, page_size=MAX_PAGE_SIZE))

    def iter_versions(self, resource_id: str, *, page_size: int = 100) -> Iterator[ResourceVersion]:
        """Every saved version of a resource, oldest first, fetched a page at a time
        (``GET .../resources/{kind}/{id}/versions``)."""
        org_id, workspace_id = self._client._tenant()

        def page(cursor: str | None) -> ApiRequest[builtins.list[ResourceVersion]]:
            return build_list_resource_versions_request(
                org_id, workspace_id, self.kind, resource_id, limit=page_size, cursor=cursor
            )

        return self._iterate(page)


class SolutionsNamespace(ResourceNamespace):
    """Solutions (``resources/solution``)."""

    kind: ResourceKind = "solution"


class CLIConnectorsNamespace(ResourceNamespace):
    """Connector definitions (``resources/connector``)."""

    kind: ResourceKind = "connector"


class CLIConnectorInstancesNamespace(ResourceNamespace):
    """Connector instances (``resources/connector_instance``), their operations and DDL."""

    kind: ResourceKind = "connector_instance"

    def execute(
        self, instance_id: str, operation: str, params: Json | None = None
    ) -> ConnectorOperationResult:
        """Run an operation on an instance (``POST /api/v1/connectors/instances/{id}/execute``)."""
        return self._send(
            build_execute_connector_operation_request(
                instance_id, body={"operation": operation, "params": params or {}}
            )
        )

    def execute_ddl(
        self, instance_id: str, sql: str, *, confirm: bool = False, reason: str | None = None
    ) -> DdlResult:
        """Preview (or, with ``confirm=True``, execute) DDL; see :meth:`CLIClient.execute_ddl`."""
        return self._client.execute_ddl(instance_id, sql, confirm=confirm, reason=reason)


class CLIComponentDeploymentsNamespace(ResourceNamespace):
    """Component deployments (``resources/component_deployment``)."""

    kind: ResourceKind = "component_deployment"


class CLIWorkflowDeploymentsNamespace(ResourceNamespace):
    """Workflow deployments (``resources/workflow_deployment``)."""

    kind: ResourceKind = "workflow_deployment"


class CLIRingsNamespace(ResourceNamespace):
    """Deployment rings (``resources/ring``)."""

    kind: ResourceKind = "ring"


class CLIComponentBackupsNamespace(ResourceNamespace):
    """Component backups (``resources/component_backup``): back a component up and restore it."""

    kind: ResourceKind = "component_backup"

    def backup(self, component_type: str, component_id: str, *, name: str | None = None) -> Resource:
        """Snapshot a component's current version into a new backup resource.

        Returns:
            The backup resource; its ``spec`` holds ``component_type``, ``component_id``, ``version``,
            ``name``, ``description`` and the component's ``spec``.
        """
        component = ComponentTypeNamespace(self._client, component_type).get(component_id)
        snapshot = {
            "component_type": component_type,
            "component_id": component_id,
            "version": component.get("version"),
            "name": component.get("name"),
            "description": component.get("description"),
            "spec": component.get("spec", {}),
        }
        label = name or f"{component_id}@v{component.get('version')}"
        return self.create({"name": label, "spec": snapshot})

    def restore(self, backup_id: str) -> Component:
        """Restore the backed-up component as a new version (``POST .../component-backups/{id}/restore``)."""
        org_id, workspace_id = self._client._tenant()
        return self._send(build_restore_component_backup_request(org_id, workspace_id, backup_id))


class CLIHostedServicesNamespace(ResourceNamespace):
    """Hosted services (``resources/hosted_service``), their versions, health, logs and invocation."""

    kind: ResourceKind = "hosted_service"

    def versions(self, service_id: str) -> builtins.list[HostedServiceVersion]:  # type: ignore[override]
        """Deployed versions of a service, oldest first (``GET .../hosted-services/{id}/versions``).

        (For hosted services this lists deployments, not the saved versions of the resource.) The
        platform answers a page at a time; this reads them all. :meth:`iter_versions` reads them as needed.
        """
        return builtins.list(self.iter_versions(service_id, page_size=MAX_PAGE_SIZE))

    def iter_versions(  # type: ignore[override]
        self, service_id: str, *, page_size: int = 100
    ) -> Iterator[HostedServiceVersion]:
        """Deployed versions of a service, oldest first, fetched a page at a time
        (``GET .../hosted-services/{id}/versions``)."""
        org_id, workspace_id = self._client._tenant()

        def page(cursor: str | None) -> ApiRequest[builtins.list[HostedServiceVersion]]:
            return build_list_hosted_service_versions_request(
                org_id, workspace_id, service_id, limit=page_size, cursor=cursor
            )

        return self._iterate(page)

    def deploy(
        self,
        service_id: str,
        app: str,
        *,
        files: dict[str, str] | None = None,
        source_dir: str | None = None,
        env: dict[str, str] | None = None,
        component_id: str | None = None,
    ) -> HostedServiceVersion:
        """Deploy a new version of a service from ``app`` (``"module:attr"``) and its files.

        Sends ``POST .../hosted-services/{id}/versions``.
        """
        org_id, workspace_id = self._client._tenant()
        body: HostedServiceDeploy = {
            "app": app,
            "source_dir": source_dir,
            "env": env,
            "component_id": component_id,
        }
        if files is not None:
            body["files"] = files
        return self._send(
            build_deploy_hosted_service_version_request(org_id, workspace_id, service_id, body=body)
        )

    def undeploy(self, service_id: str, version: int) -> None:
        """Stop and remove one version (``DELETE .../hosted-services/{id}/versions/{version}``)."""
        org_id, workspace_id = self._client._tenant()
        self._send(build_undeploy_hosted_service_version_request(org_id, workspace_id, service_id, version))

    def health(self, service_id: str) -> HostedServiceHealth:
        """Health of a service's versions (``GET .../hosted-services/{id}/health``)."""
        org_id, workspace_id = self._client._tenant()
        return self._send(build_get_hosted_service_health_request(org_id, workspace_id, service_id))

    def logs(self, service_id: str, *, version: int | None = None, tail: int = 200) -> HostedServiceLogs:
        """The last ``tail`` log lines of a service (``GET .../hosted-services/{id}/logs``)."""
        org_id, workspace_id = self._client._tenant()
        return self._send(
            build_get_hosted_service_logs_request(
                org_id, workspace_id, service_id, version=version, tail=tail
            )
        )

    def invoke(
        self,
        service_id: str,
        method: str,
        path: str,
        *,
        body: Json | None = None,
        query: Json | None = None,
        version: int | None = None,
    ) -> Any:
        """Call an endpoint of the service; see :meth:`CLIClient.invoke_service`."""
        return self._client.invoke_service(service_id, method, path, body=body, query=query, version=version)


class CLIPoliciesNamespace(ResourceNamespace):
    """Policies (``resources/policy``)."""

    kind: ResourceKind = "policy"


class CLIWebhooksNamespace(ResourceNamespace):
    """Webhooks (``resources/webhook``)."""

    kind: ResourceKind = "webhook"


class CLIMcpServersNamespace(ResourceNamespace):
    """MCP servers (``resources/mcp_server``)."""

    kind: ResourceKind = "mcp_server"


class CLIExperimentsNamespace(ResourceNamespace):
    """Experiments (``resources/experiment``)."""

    kind: ResourceKind = "experiment"


# ---------------------------------------------------------------------- datasets
class CLIDatasetsNamespace(_Namespace):
    """Workspace datasets (``.../datasets``): CRUD, row inserts, structured and vector queries."""

    def list(self) -> builtins.list[Dataset]:
        """List datasets (``GET .../datasets``).

        The platform answers a page at a time; this reads them all. :meth:`iter` reads them as needed.
        """
        return builtins.list(self.iter(page_size=MAX_PAGE_SIZE))

    def iter(self, *, page_size: int = 100) -> Iterator[Dataset]:
        """Every dataset of the workspace, oldest first, fetched a page at a time (``GET .../datasets``)."""
        org_id, workspace_id = self._client._tenant()

        def page(cursor: str | None) -> ApiRequest[builtins.list[Dataset]]:
            return build_list_datasets_request(org_id, workspace_id, limit=page_size, cursor=cursor)

        return self._iterate(page)

    def get(self, dataset_id: str) -> Dataset:
        """One dataset (``GET .../datasets/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        return self._send(build_get_dataset_request(org_id, workspace_id, dataset_id))

    def create(self, data: Json) -> Dataset:
        """Create a dataset from ``{"id", "name"?, "fields"?}`` (``POST .../datasets``)."""
        org_id, workspace_id = self._client._tenant()
        body = checked_body(data, DatasetCreate)
        return self._send(build_create_dataset_request(org_id, workspace_id, body=body))

    def delete(self, dataset_id: str) -> None:
        """Delete a dataset (``DELETE .../datasets/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        self._send(build_delete_dataset_request(org_id, workspace_id, dataset_id))

    def insert_rows(self, dataset_id: str, rows: builtins.list[Json]) -> DatasetRowsInserted:
        """Append rows (``POST .../datasets/{id}/rows``)."""
        org_id, workspace_id = self._client._tenant()
        records = [checked_body(row, JsonObject) for row in rows]
        return self._send(
            build_insert_dataset_rows_request(org_id, workspace_id, dataset_id, body={"rows": records})
        )

    def query(self, dataset_id: str, request: Json | None = None) -> DatasetQueryResult:
        """Structured query: fields, filters, order, limit (``POST .../datasets/{id}/query``)."""
        org_id, workspace_id = self._client._tenant()
        body = checked_body(request or {}, DatasetQuery)
        return self._send(build_query_dataset_request(org_id, workspace_id, dataset_id, body=body))

    def vector_query(self, dataset_id: str, request: Json) -> DatasetVectorQueryResult:
        """Vector similarity search (``POST .../datasets/{id}/vector-query``)."""
        org_id, workspace_id = self._client._tenant()
        body = checked_body(request, DatasetVectorQuery)
        return self._send(build_vector_query_dataset_request(org_id, workspace_id, dataset_id, body=body))
