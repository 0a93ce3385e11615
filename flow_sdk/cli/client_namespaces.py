"""The namespaces of :class:`~flow_sdk.cli_client.CLIClient`: small classes over the generated endpoints.

- :class:`ComponentTypeNamespace`: ``components/{component_type}`` (list, get, create, update, delete,
  versions); code blocks and workflows add durable runs.
- :class:`ResourceNamespace`: ``resources/{resource_kind}`` (list, get, create, update, delete); backups
  add backup/restore, hosted services add versions, deploy, health, logs and invoke, connector
  instances add operations and DDL.
- :class:`CLIDatasetsNamespace`: ``datasets`` (list, get, create, delete, rows, query, vector query).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from flow_sdk._errors import CLIClientError
from flow_sdk._polling import ResultMode, unwrap_result
from flow_sdk._requests import body_model

if TYPE_CHECKING:
    from flow_sdk.cli_client import CLIClient, StatusCallback

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

COMPONENT_TYPES = (
    "agent",
    "model",
    "tool",
    "prompt",
    "code_block",
    "workflow",
    "transform",
    "validation",
    "schema",
    "state",
    "observability",
)
Json = dict[str, Any]
JsonList = list[dict[str, Any]]


class _Namespace:
    """A group of CLIClient methods bound to one client."""

    def __init__(self, client: CLIClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def _call(self, tag: str, operation: str, *args: Any, **kwargs: Any) -> Any:
        return self._client._call(tag, operation, *args, **kwargs)


# ---------------------------------------------------------------------- components
class ComponentTypeNamespace(_Namespace):
    """CRUD and versions of one component type (``.../components/{component_type}``)."""

    def __init__(self, client: CLIClient, component_type: str) -> None:
        super().__init__(client)
        if component_type not in COMPONENT_TYPES:
            raise CLIClientError(
                f"unknown component type {component_type!r}; use one of {', '.join(COMPONENT_TYPES)}"
            )
        self.component_type = component_type

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.component_type}>"

    def list(self, *, limit: int = 100, offset: int = 0) -> JsonList:
        """List components of this type (``GET .../components/{type}``)."""
        org_id, workspace_id = self._client._tenant()
        return cast(
            JsonList,
            self._call(
                "catalog",
                "list_components",
                org_id,
                workspace_id,
                self.component_type,
                limit=limit,
                offset=offset,
            ),
        )

    def get(self, component_id: str) -> Json:
        """One component at its latest version (``GET .../components/{type}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        return cast(
            Json,
            self._call("catalog", "get_component", org_id, workspace_id, self.component_type, component_id),
        )

    def create(self, data: Json) -> Json:
        """Create a component from ``{"name", "spec", "id"?, "description"?}`` (``POST .../components/{type}``)."""
        return cast(Json, self._client.create_component(self.component_type, data))

    def update(self, component_id: str, data: Json) -> Json:
        """Update name, description or spec; makes a new version (``PUT .../components/{type}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        body = body_model("ComponentUpdate", data)
        return cast(
            Json,
            self._call(
                "catalog",
                "update_component",
                org_id,
                workspace_id,
                self.component_type,
                component_id,
                body=body,
            ),
        )

    def delete(self, component_id: str) -> None:
        """Delete a component and its versions (``DELETE .../components/{type}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        self._call("catalog", "delete_component", org_id, workspace_id, self.component_type, component_id)

    def versions(self, component_id: str) -> JsonList:
        """Every version of a component, oldest first (``GET .../components/{type}/{id}/versions``)."""
        org_id, workspace_id = self._client._tenant()
        return cast(
            JsonList,
            self._call(
                "catalog", "list_component_versions", org_id, workspace_id, self.component_type, component_id
            ),
        )


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
    ) -> Json:
        """Submit an execution and return its handle (``POST .../executions``)."""
        return self._client.submit_execution(
            self.component_type, component_id, input_data, ring_id=ring_id, timeout_seconds=timeout_seconds
        )

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

    def get_status(self, execution_id: str) -> Json:
        """Status of an execution (``GET .../executions/{id}``)."""
        return self._client.get_execution(execution_id)

    def cancel(self, execution_id: str) -> Json:
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

    kind = ""

    def list(self, *, limit: int = 100, offset: int = 0) -> JsonList:
        """List resources of this kind (``GET .../resources/{kind}``)."""
        org_id, workspace_id = self._client._tenant()
        return cast(
            JsonList,
            self._call(
                "resources", "list_resources", org_id, workspace_id, self.kind, limit=limit, offset=offset
            ),
        )

    def get(self, resource_id: str) -> Json:
        """One resource (``GET .../resources/{kind}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        return cast(
            Json, self._call("resources", "get_resource", org_id, workspace_id, self.kind, resource_id)
        )

    def create(self, data: Json) -> Json:
        """Create a resource from ``{"name", "spec", "id"?, "description"?}`` (``POST .../resources/{kind}``)."""
        org_id, workspace_id = self._client._tenant()
        body = body_model("ResourceCreate", data)
        return cast(
            Json, self._call("resources", "create_resource", org_id, workspace_id, self.kind, body=body)
        )

    def update(self, resource_id: str, data: Json) -> Json:
        """Update a resource; makes a new version (``PUT .../resources/{kind}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        body = body_model("ResourceUpdate", data)
        return cast(
            Json,
            self._call(
                "resources", "update_resource", org_id, workspace_id, self.kind, resource_id, body=body
            ),
        )

    def delete(self, resource_id: str) -> None:
        """Delete a resource (``DELETE .../resources/{kind}/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        self._call("resources", "delete_resource", org_id, workspace_id, self.kind, resource_id)

    def versions(self, resource_id: str) -> JsonList:
        """Every saved version of a resource, oldest first (``GET .../resources/{kind}/{id}/versions``)."""
        org_id, workspace_id = self._client._tenant()
        return cast(
            JsonList,
            self._call("resources", "list_resource_versions", org_id, workspace_id, self.kind, resource_id),
        )


class SolutionsNamespace(ResourceNamespace):
    """Solutions (``resources/solution``)."""

    kind = "solution"


class CLIConnectorsNamespace(ResourceNamespace):
    """Connector definitions (``resources/connector``)."""

    kind = "connector"


class CLIConnectorInstancesNamespace(ResourceNamespace):
    """Connector instances (``resources/connector_instance``), their operations and DDL."""

    kind = "connector_instance"

    def execute(self, instance_id: str, operation: str, params: Json | None = None) -> Json:
        """Run an operation on an instance (``POST /api/v1/connectors/instances/{id}/execute``)."""
        body = body_model("ConnectorOperation", {"operation": operation, "params": params or {}})
        return cast(Json, self._call("connectors", "execute_connector_operation", instance_id, body=body))

    def execute_ddl(
        self, instance_id: str, sql: str, *, confirm: bool = False, reason: str | None = None
    ) -> Json:
        """Preview (or, with ``confirm=True``, execute) DDL; see :meth:`CLIClient.execute_ddl`."""
        return cast(Json, self._client.execute_ddl(instance_id, sql, confirm=confirm, reason=reason))


class CLIComponentDeploymentsNamespace(ResourceNamespace):
    """Component deployments (``resources/component_deployment``)."""

    kind = "component_deployment"


class CLIWorkflowDeploymentsNamespace(ResourceNamespace):
    """Workflow deployments (``resources/workflow_deployment``)."""

    kind = "workflow_deployment"


class CLIRingsNamespace(ResourceNamespace):
    """Deployment rings (``resources/ring``)."""

    kind = "ring"


class CLIComponentBackupsNamespace(ResourceNamespace):
    """Component backups (``resources/component_backup``): back a component up and restore it."""

    kind = "component_backup"

    def backup(self, component_type: str, component_id: str, *, name: str | None = None) -> Json:
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

    def restore(self, backup_id: str) -> Json:
        """Restore the backed-up component as a new version (``POST .../component-backups/{id}/restore``)."""
        org_id, workspace_id = self._client._tenant()
        return cast(
            Json, self._call("resources", "restore_component_backup", org_id, workspace_id, backup_id)
        )


class CLIHostedServicesNamespace(ResourceNamespace):
    """Hosted services (``resources/hosted_service``), their versions, health, logs and invocation."""

    kind = "hosted_service"

    def versions(self, service_id: str) -> JsonList:
        """Deployed versions of a service (``GET .../hosted-services/{id}/versions``).

        (For hosted services this lists deployments, not the saved versions of the resource.)
        """
        org_id, workspace_id = self._client._tenant()
        return cast(
            JsonList,
            self._call("services", "list_hosted_service_versions", org_id, workspace_id, service_id),
        )

    def deploy(
        self,
        service_id: str,
        app: str,
        *,
        files: dict[str, str] | None = None,
        source_dir: str | None = None,
        env: dict[str, str] | None = None,
        component_id: str | None = None,
    ) -> Json:
        """Deploy a new version of a service from ``app`` (``"module:attr"``) and its files.

        Sends ``POST .../hosted-services/{id}/versions``.
        """
        org_id, workspace_id = self._client._tenant()
        data = {
            "app": app,
            "files": files,
            "source_dir": source_dir,
            "env": env,
            "component_id": component_id,
        }
        body = body_model("HostedServiceDeploy", data)
        return cast(
            Json,
            self._call(
                "services", "deploy_hosted_service_version", org_id, workspace_id, service_id, body=body
            ),
        )

    def undeploy(self, service_id: str, version: int) -> None:
        """Stop and remove one version (``DELETE .../hosted-services/{id}/versions/{version}``)."""
        org_id, workspace_id = self._client._tenant()
        self._call("services", "undeploy_hosted_service_version", org_id, workspace_id, service_id, version)

    def health(self, service_id: str) -> Json:
        """Health of a service's versions (``GET .../hosted-services/{id}/health``)."""
        org_id, workspace_id = self._client._tenant()
        return cast(
            Json, self._call("services", "get_hosted_service_health", org_id, workspace_id, service_id)
        )

    def logs(self, service_id: str, *, version: int | None = None, tail: int = 200) -> Json:
        """The last ``tail`` log lines of a service (``GET .../hosted-services/{id}/logs``)."""
        org_id, workspace_id = self._client._tenant()
        options: dict[str, Any] = {"tail": tail}
        if version is not None:
            options["version"] = version
        return cast(
            Json,
            self._call("services", "get_hosted_service_logs", org_id, workspace_id, service_id, **options),
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

    kind = "policy"


class CLIWebhooksNamespace(ResourceNamespace):
    """Webhooks (``resources/webhook``)."""

    kind = "webhook"


class CLIMcpServersNamespace(ResourceNamespace):
    """MCP servers (``resources/mcp_server``)."""

    kind = "mcp_server"


class CLIExperimentsNamespace(ResourceNamespace):
    """Experiments (``resources/experiment``)."""

    kind = "experiment"


# ---------------------------------------------------------------------- datasets
class CLIDatasetsNamespace(_Namespace):
    """Workspace datasets (``.../datasets``): CRUD, row inserts, structured and vector queries."""

    def list(self) -> JsonList:
        """List datasets (``GET .../datasets``)."""
        org_id, workspace_id = self._client._tenant()
        return cast(JsonList, self._call("datasets", "list_datasets", org_id, workspace_id))

    def get(self, dataset_id: str) -> Json:
        """One dataset (``GET .../datasets/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        return cast(Json, self._call("datasets", "get_dataset", org_id, workspace_id, dataset_id))

    def create(self, data: Json) -> Json:
        """Create a dataset from ``{"id", "name"?, "fields"?}`` (``POST .../datasets``)."""
        org_id, workspace_id = self._client._tenant()
        body = body_model("DatasetCreate", data)
        return cast(Json, self._call("datasets", "create_dataset", org_id, workspace_id, body=body))

    def delete(self, dataset_id: str) -> None:
        """Delete a dataset (``DELETE .../datasets/{id}``)."""
        org_id, workspace_id = self._client._tenant()
        self._call("datasets", "delete_dataset", org_id, workspace_id, dataset_id)

    def insert_rows(self, dataset_id: str, rows: JsonList) -> Json:
        """Append rows (``POST .../datasets/{id}/rows``)."""
        org_id, workspace_id = self._client._tenant()
        body = body_model("DatasetRowsInsert", {"rows": rows})
        return cast(
            Json, self._call("datasets", "insert_dataset_rows", org_id, workspace_id, dataset_id, body=body)
        )

    def query(self, dataset_id: str, request: Json | None = None) -> Json:
        """Structured query: fields, filters, order, limit (``POST .../datasets/{id}/query``)."""
        org_id, workspace_id = self._client._tenant()
        body = body_model("DatasetQuery", request or {})
        return cast(
            Json, self._call("datasets", "query_dataset", org_id, workspace_id, dataset_id, body=body)
        )

    def vector_query(self, dataset_id: str, request: Json) -> Json:
        """Vector similarity search (``POST .../datasets/{id}/vector-query``)."""
        org_id, workspace_id = self._client._tenant()
        body = body_model("DatasetVectorQuery", request)
        return cast(
            Json, self._call("datasets", "vector_query_dataset", org_id, workspace_id, dataset_id, body=body)
        )
