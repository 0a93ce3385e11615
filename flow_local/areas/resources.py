"""Workspace resources of every kind (solution, ring, connector_instance, ...) with versions,
and the restore of a component backup."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from flow_server_models import Resource, ResourceCreate, ResourceUpdate, ResourceVersion

from flow_local.areas.catalog import COMPONENT_TYPES, CatalogBackend
from flow_local.areas.catalog import render as render_component
from flow_local.areas.tenants import check_workspace
from flow_local.areas.versioned import KindCheckedBackend, VersionedStore, schema
from flow_local.auth import Principal, get_principal, require_user
from flow_local.core import Platform, platform_of
from flow_local.errors import bad_request, not_found
from flow_local.spec import schema_enum

RESOURCE_KINDS: tuple[str, ...] = schema_enum("ResourceKind")


class ResourcesBackend(KindCheckedBackend):
    """Resources with version history, per workspace and kind."""

    kinds = RESOURCE_KINDS
    kind_label = "resource kind"
    kind_field = "resource_kind"

    def __init__(self, platform: Platform) -> None:
        platform.db.migrate("resources", schema("resources"))
        self.platform = platform
        super().__init__(VersionedStore(platform.db, "resources", "resource"))

    def find_in_org(self, org_id: str, kind: str, resource_id: str) -> dict[str, Any]:
        """A resource by kind and id in any workspace of the org (404 when absent)."""
        row = self.platform.db.query_one(
            "SELECT workspace_id FROM resources WHERE org_id=? AND kind=? AND id=?",
            (org_id, kind, resource_id),
        )
        if row is None:
            raise not_found(kind.replace("_", " "), resource_id)
        return self.get(org_id, row[0], kind, resource_id)

    def locate_all(self, kind: str, resource_id: str) -> list[dict[str, Any]]:
        """Every resource of a kind with an id, across orgs and workspaces."""
        rows = self.platform.db.query(
            "SELECT org_id, workspace_id FROM resources WHERE kind=? AND id=?", (kind, resource_id)
        )
        return [self.get(r[0], r[1], kind, resource_id) for r in rows]

    def versions(self, org_id: str, workspace_id: str, kind: str, resource_id: str) -> list[dict[str, Any]]:
        """Every version of a resource, oldest first (404 when absent)."""
        self.check_kind(kind)
        return self.store.history(org_id, workspace_id, kind, resource_id)

    def restore_backup(self, org_id: str, workspace_id: str, backup_id: str) -> dict[str, Any]:
        """Restore the component a backup holds (spec ``{component_type, component_id, name?, spec}``)."""
        backup = self.get(org_id, workspace_id, "component_backup", backup_id)
        spec = backup["spec"]
        component_type = spec.get("component_type")
        component_id = spec.get("component_id")
        if component_type not in COMPONENT_TYPES:
            raise bad_request("the backup's spec.component_type is missing or unknown", "spec.component_type")
        if not isinstance(component_id, str) or not component_id:
            raise bad_request("the backup's spec.component_id is missing", "spec.component_id")
        snapshot = spec.get("spec")
        if not isinstance(snapshot, dict):
            raise bad_request("the backup's spec.spec (the component's spec) must be an object", "spec.spec")
        data = {"id": component_id, "name": str(spec.get("name") or component_id), "spec": snapshot}
        if spec.get("description") is not None:
            data["description"] = str(spec["description"])
        catalog = self.platform.backend(CatalogBackend)
        return catalog.upsert(org_id, workspace_id, component_type, data)


def render(item: dict[str, Any]) -> dict[str, Any]:
    """A stored resource as the spec's `Resource`."""
    return Resource(
        id=item["id"],
        kind=item["kind"],
        name=item["name"],
        description=item["description"],
        version=item["version"],
        spec=item["spec"],
        status=item["status"],
        created_at=item["created_at"],
        updated_at=item["updated_at"],
    ).model_dump(mode="json", exclude_unset=True)


def render_version(item: dict[str, Any]) -> dict[str, Any]:
    """A stored version as the spec's `ResourceVersion`."""
    return ResourceVersion(
        resource_id=item["id"],
        kind=item["kind"],
        version=item["version"],
        name=item["name"],
        description=item["description"],
        spec=item["spec"],
        created_at=item["created_at"],
    ).model_dump(mode="json", exclude_unset=True)


router = APIRouter(prefix="/api/v1/orgs/{org_id}/workspaces/{workspace_id}", tags=["resources"])


def _resources(request: Request) -> ResourcesBackend:
    return platform_of(request).backend(ResourcesBackend)


@router.get("/resources/{resource_kind}")
async def list_resources(
    org_id: str,
    workspace_id: str,
    resource_kind: str,
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    principal: Principal = Depends(get_principal),
) -> list[dict[str, Any]]:
    """GET .../resources/{resource_kind}."""
    check_workspace(request, principal, org_id, workspace_id)
    return [render(i) for i in _resources(request).list(org_id, workspace_id, resource_kind, limit, offset)]


@router.post("/resources/{resource_kind}", status_code=201)
async def create_resource(
    org_id: str,
    workspace_id: str,
    resource_kind: str,
    body: ResourceCreate,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../resources/{resource_kind}."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "creating a resource")
    data = body.model_dump(exclude_unset=True)
    return render(_resources(request).create(org_id, workspace_id, resource_kind, data))


@router.get("/resources/{resource_kind}/{resource_id}")
async def get_resource(
    org_id: str,
    workspace_id: str,
    resource_kind: str,
    resource_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """GET .../resources/{resource_kind}/{resource_id}."""
    check_workspace(request, principal, org_id, workspace_id)
    return render(_resources(request).get(org_id, workspace_id, resource_kind, resource_id))


@router.get("/resources/{resource_kind}/{resource_id}/versions")
async def list_resource_versions(
    org_id: str,
    workspace_id: str,
    resource_kind: str,
    resource_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> list[dict[str, Any]]:
    """GET .../resources/{resource_kind}/{resource_id}/versions: oldest first."""
    check_workspace(request, principal, org_id, workspace_id)
    items = _resources(request).versions(org_id, workspace_id, resource_kind, resource_id)
    return [render_version(i) for i in items]


@router.put("/resources/{resource_kind}/{resource_id}")
async def update_resource(
    org_id: str,
    workspace_id: str,
    resource_kind: str,
    resource_id: str,
    body: ResourceUpdate,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """PUT .../resources/{resource_kind}/{resource_id}: a new version."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "updating a resource")
    changes = body.model_dump(exclude_unset=True)
    return render(_resources(request).update(org_id, workspace_id, resource_kind, resource_id, changes))


@router.delete("/resources/{resource_kind}/{resource_id}", status_code=204)
async def delete_resource(
    org_id: str,
    workspace_id: str,
    resource_kind: str,
    resource_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> Response:
    """DELETE .../resources/{resource_kind}/{resource_id}."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "deleting a resource")
    _resources(request).delete(org_id, workspace_id, resource_kind, resource_id)
    return Response(status_code=204)


@router.post("/component-backups/{resource_id}/restore")
async def restore_component_backup(
    org_id: str,
    workspace_id: str,
    resource_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../component-backups/{resource_id}/restore."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "restoring a backup")
    return render_component(_resources(request).restore_backup(org_id, workspace_id, resource_id))
