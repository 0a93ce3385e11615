"""Generic versioned records (catalog components and workspace resources share this store).

A record lives in a workspace, has a kind (component type or resource kind), an id, a name, an
optional description, a JSON spec, an optional status and a version; every update appends the
previous state to the versions table so history is kept.
"""

from __future__ import annotations

from typing import Any

from flow_local.db import Connection, Database, IntegrityError, Row, from_json, to_json
from flow_local.errors import bad_request, conflict, not_found
from flow_local.paging import Keyset, select_page
from flow_local.values import new_id, now_iso


def schema(table: str) -> list[str]:
    """The statements creating a versioned-record table pair named ``table`` and ``table_versions``."""
    return [
        f"CREATE TABLE {table} (org_id TEXT NOT NULL, workspace_id TEXT NOT NULL, kind TEXT NOT NULL,"
        " id TEXT NOT NULL, name TEXT NOT NULL, description TEXT, spec TEXT NOT NULL, status TEXT,"
        " version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
        " PRIMARY KEY (org_id, workspace_id, kind, id))",
        f"CREATE TABLE {table}_versions (org_id TEXT NOT NULL, workspace_id TEXT NOT NULL,"
        " kind TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
        " description TEXT, spec TEXT NOT NULL, created_at TEXT NOT NULL,"
        " PRIMARY KEY (org_id, workspace_id, kind, id, version))",
    ]


class VersionedStore:
    """CRUD with version history over one table pair."""

    def __init__(self, db: Database, table: str, noun: str) -> None:
        self.db = db
        self.table = table
        self.noun = noun

    def _row(self, row: Row) -> dict[str, Any]:
        item = dict(row)
        item["spec"] = from_json(item["spec"], {})
        return item

    def create(
        self, org_id: str, workspace_id: str, kind: str, data: dict[str, Any], status: str | None = None
    ) -> dict[str, Any]:
        """Insert version 1 (409 when the id exists in this workspace and kind)."""
        now = now_iso()
        item = {
            "org_id": org_id,
            "workspace_id": workspace_id,
            "kind": kind,
            "id": data.get("id") or new_id(),
            "name": data["name"],
            "description": data.get("description"),
            "spec": data.get("spec") or {},
            "status": status,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    f"INSERT INTO {self.table} (org_id, workspace_id, kind, id, name, description, spec,"
                    " status, version, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (*list(item.values())[:6], to_json(item["spec"]), *list(item.values())[7:]),
                )
                self._record_version(conn, item)
        except IntegrityError as exc:
            raise conflict(f"{self.noun} '{item['id']}' exists already") from exc
        return item

    def _record_version(self, conn: Connection, item: dict[str, Any]) -> None:
        conn.execute(
            f"INSERT INTO {self.table}_versions (org_id, workspace_id, kind, id, version, name,"
            " description, spec, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                item["org_id"],
                item["workspace_id"],
                item["kind"],
                item["id"],
                item["version"],
                item["name"],
                item["description"],
                to_json(item["spec"]),
                item["updated_at"],
            ),
        )

    def get(self, org_id: str, workspace_id: str, kind: str, item_id: str) -> dict[str, Any]:
        """The latest version (404 when absent)."""
        row = self.db.query_one(
            f"SELECT * FROM {self.table} WHERE org_id=? AND workspace_id=? AND kind=? AND id=?",
            (org_id, workspace_id, kind, item_id),
        )
        if row is None:
            raise not_found(self.noun, item_id)
        return self._row(row)

    def find(
        self, org_id: str, workspace_id: str, item_id: str, kinds: list[str] | None = None
    ) -> dict[str, Any]:
        """A record by id alone (any kind, or one of ``kinds``); 404 when absent."""
        rows = self.db.query(
            f"SELECT * FROM {self.table} WHERE org_id=? AND workspace_id=? AND id=?",
            (org_id, workspace_id, item_id),
        )
        for row in rows:
            if kinds is None or row["kind"] in kinds:
                return self._row(row)
        raise not_found(self.noun, item_id)

    def list_items(
        self,
        org_id: str,
        workspace_id: str,
        kind: str,
        limit: int = 100,
        offset: int = 0,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the records of one kind, oldest first, and the cursor of the next page."""
        page = select_page(
            self.db,
            Keyset(self.table, ("created_at", "id")),
            f"SELECT * FROM {self.table} WHERE org_id=? AND workspace_id=? AND kind=?",
            (org_id, workspace_id, kind),
            limit=limit,
            cursor=cursor,
            offset=offset,
        )
        return [self._row(r) for r in page.rows], page.next_cursor

    def update(
        self, org_id: str, workspace_id: str, kind: str, item_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply ``changes`` (name, description, spec, status) as a new version."""
        for key in ("name", "spec"):
            if key in changes and changes[key] is None:
                raise bad_request(f"field '{key}' cannot be null", key)
        with self.db.transaction() as conn:
            item = self.get(org_id, workspace_id, kind, item_id)
            for key in ("name", "description", "spec", "status"):
                if key in changes:
                    item[key] = changes[key]
            if item.get("spec") is None:
                item["spec"] = {}
            item["version"] += 1
            item["updated_at"] = now_iso()
            conn.execute(
                f"UPDATE {self.table} SET name=?, description=?, spec=?, status=?, version=?, updated_at=?"
                " WHERE org_id=? AND workspace_id=? AND kind=? AND id=?",
                (
                    item["name"],
                    item["description"],
                    to_json(item["spec"]),
                    item["status"],
                    item["version"],
                    item["updated_at"],
                    org_id,
                    workspace_id,
                    kind,
                    item_id,
                ),
            )
            self._record_version(conn, item)
        return item

    def delete(self, org_id: str, workspace_id: str, kind: str, item_id: str) -> None:
        """Delete a record and its history (404 when absent)."""
        with self.db.transaction() as conn:
            self.get(org_id, workspace_id, kind, item_id)
            key = (org_id, workspace_id, kind, item_id)
            where = "WHERE org_id=? AND workspace_id=? AND kind=? AND id=?"
            conn.execute(f"DELETE FROM {self.table} {where}", key)
            conn.execute(f"DELETE FROM {self.table}_versions {where}", key)

    def versions(
        self, org_id: str, workspace_id: str, kind: str, item_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the versions as the spec's `ComponentVersion`, oldest first, and the next cursor.

        404 when the record is absent.
        """
        history, next_cursor = self.history(org_id, workspace_id, kind, item_id, limit, cursor)
        versions = [
            {
                "component_id": v["id"],
                "version": v["version"],
                "name": v["name"],
                "spec": v["spec"],
                "created_at": v["created_at"],
            }
            for v in history
        ]
        return versions, next_cursor

    def history(
        self, org_id: str, workspace_id: str, kind: str, item_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the saved versions (id, kind, version, name, description, spec, created_at), oldest
        first, and the cursor of the next page.

        404 when the record is absent.
        """
        self.get(org_id, workspace_id, kind, item_id)
        page = select_page(
            self.db,
            Keyset(f"{self.table}_versions", ("version",), integers=("version",)),
            f"SELECT id, kind, version, name, description, spec, created_at FROM {self.table}_versions"
            " WHERE org_id=? AND workspace_id=? AND kind=? AND id=?",
            (org_id, workspace_id, kind, item_id),
            limit=limit,
            cursor=cursor,
        )
        return [self._row(r) for r in page.rows], page.next_cursor


class KindCheckedBackend:
    """An area backend over one `VersionedStore` whose kinds are a closed set (400 for any other kind).

    Subclasses set ``kinds`` (the spec's enum), ``kind_label`` (for the message) and ``kind_field``
    (the path parameter named in the error).
    """

    kinds: tuple[str, ...] = ()
    kind_label = "kind"
    kind_field = "kind"

    def __init__(self, store: VersionedStore) -> None:
        self.store = store

    def check_kind(self, kind: str) -> None:
        """400 unless ``kind`` is one of ``kinds``."""
        if kind not in self.kinds:
            raise bad_request(
                f"unknown {self.kind_label} '{kind}'; use one of {', '.join(self.kinds)}", self.kind_field
            )

    def create(
        self, org_id: str, workspace_id: str, kind: str, data: dict[str, Any], status: str | None = None
    ) -> dict[str, Any]:
        """Create a record at version 1 (409 when the id exists)."""
        self.check_kind(kind)
        return self.store.create(org_id, workspace_id, kind, data, status=status)

    def get(self, org_id: str, workspace_id: str, kind: str, item_id: str) -> dict[str, Any]:
        """A record at its latest version (404 when absent)."""
        self.check_kind(kind)
        return self.store.get(org_id, workspace_id, kind, item_id)

    def list_items(
        self,
        org_id: str,
        workspace_id: str,
        kind: str,
        limit: int = 100,
        offset: int = 0,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the records of one kind, oldest first, and the cursor of the next page."""
        self.check_kind(kind)
        return self.store.list_items(org_id, workspace_id, kind, limit, offset, cursor)

    def update(
        self, org_id: str, workspace_id: str, kind: str, item_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """A new version with ``changes`` (name, description, spec, status) applied."""
        self.check_kind(kind)
        return self.store.update(org_id, workspace_id, kind, item_id, changes)

    def delete(self, org_id: str, workspace_id: str, kind: str, item_id: str) -> None:
        """Delete a record and its versions (404 when absent)."""
        self.check_kind(kind)
        self.store.delete(org_id, workspace_id, kind, item_id)
