"""The catalog: versioned components of every type (agent, model, tool, code_block, workflow, ...)."""

from __future__ import annotations

from typing import Any, get_args

from flow_local._generated.models import Component, ComponentCreate, ComponentUpdate, ComponentVersion
from flow_local._generated.routers.catalog import CatalogOperations
from flow_local._generated.routers.types import ComponentType
from flow_local.areas.versioned import KindCheckedBackend, VersionedStore, schema
from flow_local.auth import require_user
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.paging import announce

COMPONENT_TYPES: tuple[str, ...] = get_args(ComponentType)


class CatalogBackend(KindCheckedBackend, CatalogOperations[Call]):
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
        self,
        org_id: str,
        workspace_id: str,
        component_type: str,
        component_id: str,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the versions of a component, as the spec's `ComponentVersion`, and the next cursor."""
        self.check_kind(component_type)
        return self.store.versions(org_id, workspace_id, component_type, component_id, limit, cursor)

    async def list_components(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        component_type: ComponentType,
        limit: int,
        offset: int,
        cursor: str | None,
    ) -> list[Component]:
        """Components of one type, oldest first, a page at a time with cursors."""
        items, next_cursor = self.list_items(org_id, workspace_id, component_type, limit, offset, cursor)
        announce(call.answer_headers, next_cursor)
        return [as_component(i) for i in items]

    async def create_component(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        component_type: ComponentType,
        body: ComponentCreate,
    ) -> Component:
        """Create a component at version 1."""
        require_user(call.principal, "creating a component")
        data = body.model_dump(exclude_unset=True)
        return as_component(self.create(org_id, workspace_id, component_type, data))

    async def get_component(
        self, call: Call, *, org_id: str, workspace_id: str, component_type: ComponentType, component_id: str
    ) -> Component:
        """A component at its latest version."""
        return as_component(self.get(org_id, workspace_id, component_type, component_id))

    async def update_component(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        component_type: ComponentType,
        component_id: str,
        body: ComponentUpdate,
    ) -> Component:
        """A new version of a component."""
        require_user(call.principal, "updating a component")
        changes = body.model_dump(exclude_unset=True)
        return as_component(self.update(org_id, workspace_id, component_type, component_id, changes))

    async def delete_component(
        self, call: Call, *, org_id: str, workspace_id: str, component_type: ComponentType, component_id: str
    ) -> None:
        """Delete a component and its versions."""
        require_user(call.principal, "deleting a component")
        self.delete(org_id, workspace_id, component_type, component_id)

    async def list_component_versions(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        component_type: ComponentType,
        component_id: str,
        limit: int,
        cursor: str | None,
    ) -> list[ComponentVersion]:
        """Every version of a component, oldest first, a page at a time."""
        items, next_cursor = self.versions(org_id, workspace_id, component_type, component_id, limit, cursor)
        announce(call.answer_headers, next_cursor)
        return [ComponentVersion.model_validate(v) for v in items]


def as_component(item: dict[str, Any]) -> Component:
    """A stored component (its type is stored as ``kind``) as the document's `Component`."""
    return Component.model_validate({**item, "component_type": item["kind"]})
