"""Workspace resources of every kind (solution, ring, connector_instance, ...) with versions,
and the restore of a component backup."""

from __future__ import annotations

from typing import Any, get_args

from flow_local._generated.models import Component, Resource, ResourceCreate, ResourceUpdate, ResourceVersion
from flow_local._generated.routers.resources import ResourcesOperations
from flow_local._generated.routers.types import ResourceKind
from flow_local.areas.catalog import COMPONENT_TYPES, CatalogBackend, as_component
from flow_local.areas.versioned import KindCheckedBackend, VersionedStore, schema
from flow_local.auth import require_user
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.errors import bad_request, not_found
from flow_local.paging import announce

RESOURCE_KINDS: tuple[str, ...] = get_args(ResourceKind)


class ResourcesBackend(KindCheckedBackend, ResourcesOperations[Call]):
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

    def versions(
        self, org_id: str, workspace_id: str, kind: str, resource_id: str, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the versions of a resource, oldest first, and the next cursor (404 when absent)."""
        self.check_kind(kind)
        return self.store.history(org_id, workspace_id, kind, resource_id, limit, cursor)

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

    async def list_resources(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        resource_kind: ResourceKind,
        limit: int,
        offset: int,
        cursor: str | None,
    ) -> list[Resource]:
        """Resources of one kind, oldest first, a page at a time with cursors."""
        items, next_cursor = self.list_items(org_id, workspace_id, resource_kind, limit, offset, cursor)
        announce(call.answer_headers, next_cursor)
        return [Resource.model_validate(i) for i in items]

    async def create_resource(
        self, call: Call, *, org_id: str, workspace_id: str, resource_kind: ResourceKind, body: ResourceCreate
    ) -> Resource:
        """Create a resource at version 1."""
        require_user(call.principal, "creating a resource")
        data = body.model_dump(exclude_unset=True)
        return Resource.model_validate(self.create(org_id, workspace_id, resource_kind, data))

    async def get_resource(
        self, call: Call, *, org_id: str, workspace_id: str, resource_kind: ResourceKind, resource_id: str
    ) -> Resource:
        """A resource at its latest version."""
        return Resource.model_validate(self.get(org_id, workspace_id, resource_kind, resource_id))

    async def update_resource(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        resource_kind: ResourceKind,
        resource_id: str,
        body: ResourceUpdate,
    ) -> Resource:
        """A new version of a resource."""
        require_user(call.principal, "updating a resource")
        changes = body.model_dump(exclude_unset=True)
        return Resource.model_validate(self.update(org_id, workspace_id, resource_kind, resource_id, changes))

    async def delete_resource(
        self, call: Call, *, org_id: str, workspace_id: str, resource_kind: ResourceKind, resource_id: str
    ) -> None:
        """Delete a resource and its versions."""
        require_user(call.principal, "deleting a resource")
        self.delete(org_id, workspace_id, resource_kind, resource_id)

    async def list_resource_versions(
        self,
        call: Call,
        *,
        org_id: str,
        workspace_id: str,
        resource_kind: ResourceKind,
        resource_id: str,
        limit: int,
        cursor: str | None,
    ) -> list[ResourceVersion]:
        """Every version of a resource, oldest first, a page at a time."""
        items, next_cursor = self.versions(org_id, workspace_id, resource_kind, resource_id, limit, cursor)
        announce(call.answer_headers, next_cursor)
        return [ResourceVersion.model_validate({**i, "resource_id": i["id"]}) for i in items]

    async def restore_component_backup(
        self, call: Call, *, org_id: str, workspace_id: str, resource_id: str
    ) -> Component:
        """Restore the component a backup holds."""
        require_user(call.principal, "restoring a backup")
        return as_component(self.restore_backup(org_id, workspace_id, resource_id))
