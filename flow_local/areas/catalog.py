"""The catalog: versioned components of every type (agent, model, tool, code_block, workflow, ...)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from flow_server_models import Component, ComponentCreate, ComponentUpdate, ComponentVersion

from flow_local.areas.tenants import check_workspace
from flow_local.areas.versioned import KindCheckedBackend, VersionedStore, schema
from flow_local.auth import Principal, get_principal, require_user
from flow_local.core import Platform, platform_of
from flow_local.spec import schema_enum

COMPONENT_TYPES: tuple[str, ...] = schema_enum("ComponentType")


class CatalogBackend(KindCheckedBackend):
    """Components with version history, per workspace and type."""

    kinds = COMPONENT_TYPES
    kind_label = "component type"
    kind_field = "component_type"

    def __init__(self, platform: Platform) -> None:
        platform.db.migrate("catalog", schema("components"))
        super().__init__(VersionedStore(platform.db, "components", "component"))

    def find(self, org_id: str, workspace_id: str, component_id: str) -> dict[str, Any]:
        """A component by id whatever its type (404 when absent)."""
        return self.store.find(org_id, workspace_id, component_id)

    def upsert(
        self, org_id: str, workspace_id: str, component_type: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Update the component ``data['id']`` as a new version, or create it when absent."""
        try:
            self.store.get(org_id, workspace_id, component_type, data["id"])
        except Exception:
            return self.create(org_id, workspace_id, component_type, data)
        changes: dict[str, Any] = {k: data[k] for k in ("name", "description", "spec") if k in data}
        return self.update(org_id, workspace_id, component_type, data["id"], changes)

    def versions(
        self, org_id: str, workspace_id: str, component_type: str, component_id: str
    ) -> list[dict[str, Any]]:
        """Every version of a component, as the spec's `ComponentVersion`."""
        self.check_kind(component_type)
        return self.store.versions(org_id, workspace_id, component_type, component_id)


def render(item: dict[str, Any]) -> dict[str, Any]:
    """A stored component as the spec's `Component`."""
    return Component(
        id=item["id"],
        component_type=item["kind"],
        name=item["name"],
        description=item["description"],
        version=item["version"],
        spec=item["spec"],
        created_at=item["created_at"],
        updated_at=item["updated_at"],
    ).model_dump(mode="json", exclude_unset=True)


router = APIRouter(prefix="/api/v1/orgs/{org_id}/workspaces/{workspace_id}/components", tags=["catalog"])


def _catalog(request: Request) -> CatalogBackend:
    return platform_of(request).backend(CatalogBackend)


@router.get("/{component_type}")
async def list_components(
    org_id: str,
    workspace_id: str,
    component_type: str,
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    principal: Principal = Depends(get_principal),
) -> list[dict[str, Any]]:
    """GET .../components/{component_type}."""
    check_workspace(request, principal, org_id, workspace_id)
    return [render(i) for i in _catalog(request).list(org_id, workspace_id, component_type, limit, offset)]


@router.post("/{component_type}", status_code=201)
async def create_component(
    org_id: str,
    workspace_id: str,
    component_type: str,
    body: ComponentCreate,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """POST .../components/{component_type}."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "creating a component")
    data = body.model_dump(exclude_unset=True)
    return render(_catalog(request).create(org_id, workspace_id, component_type, data))


@router.get("/{component_type}/{component_id}")
async def get_component(
    org_id: str,
    workspace_id: str,
    component_type: str,
    component_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """GET .../components/{component_type}/{component_id}."""
    check_workspace(request, principal, org_id, workspace_id)
    return render(_catalog(request).get(org_id, workspace_id, component_type, component_id))


@router.put("/{component_type}/{component_id}")
async def update_component(
    org_id: str,
    workspace_id: str,
    component_type: str,
    component_id: str,
    body: ComponentUpdate,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> dict[str, Any]:
    """PUT .../components/{component_type}/{component_id}: a new version."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "updating a component")
    changes = body.model_dump(exclude_unset=True)
    return render(_catalog(request).update(org_id, workspace_id, component_type, component_id, changes))


@router.delete("/{component_type}/{component_id}", status_code=204)
async def delete_component(
    org_id: str,
    workspace_id: str,
    component_type: str,
    component_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> Response:
    """DELETE .../components/{component_type}/{component_id}."""
    check_workspace(request, principal, org_id, workspace_id)
    require_user(principal, "deleting a component")
    _catalog(request).delete(org_id, workspace_id, component_type, component_id)
    return Response(status_code=204)


@router.get("/{component_type}/{component_id}/versions")
async def list_component_versions(
    org_id: str,
    workspace_id: str,
    component_type: str,
    component_id: str,
    request: Request,
    principal: Principal = Depends(get_principal),
) -> list[dict[str, Any]]:
    """GET .../components/{component_type}/{component_id}/versions."""
    check_workspace(request, principal, org_id, workspace_id)
    items = _catalog(request).versions(org_id, workspace_id, component_type, component_id)
    return [ComponentVersion(**v).model_dump(mode="json", exclude_unset=True) for v in items]
