"""Connectors: the ``sqlite`` connector type on ``connector_instance`` resources.

An instance's spec is ``{"connector_type": "sqlite", "config": {"database": "name.db"}}``; the file
lives under ``<data>/connectors/<org_id>/``. Operations: ``read_query`` ({query, params}),
``insert_rows`` ({table, rows}) and ``execute_statement`` ({statement, params}); DDL is previewed
(nothing runs) or, with ``confirm``, executed in one transaction; write jobs run in the background.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any

from flow_local._generated.models import (
    ConnectorOperation,
    ConnectorOperationResult,
    ConnectorWriteJob,
    DdlRequest,
    DdlResult,
)
from flow_local._generated.routers.connectors import ConnectorsOperations
from flow_local.areas.resources import ResourcesBackend
from flow_local.auth import Principal
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.errors import ApiError, bad_request, not_found
from flow_local.values import new_id, now_iso

SCHEMA = [
    "CREATE TABLE connector_write_jobs (job_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, instance_id TEXT NOT NULL,"
    " operation TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL, finished_at TEXT,"
    " rows_affected INTEGER, error TEXT, idempotency_key TEXT, UNIQUE (org_id, idempotency_key))",
]
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DDL_OBJECT = re.compile(
    r"\b(?:TABLE|INDEX|VIEW|TRIGGER)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?([\"`\[]?[\w.]+[\"`\]]?)", re.I
)
_WRITE_OPS = ("insert_rows", "execute_statement")


_REFUSED_ACTIONS = {
    sqlite3.SQLITE_ATTACH: "ATTACH (and VACUUM INTO) reaches another database file",
    sqlite3.SQLITE_DETACH: "DETACH works on attached databases, which connectors do not allow",
}
_VACUUM_INTO = re.compile(r"\s*VACUUM\b.*\bINTO\b", re.I | re.S)
_REFUSED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"})


class Confinement:
    """An SQLite authorizer that refuses whatever reaches past the instance's own database file.

    Attributes:
        refused: Why the last refused statement was refused (None when nothing was).
    """

    def __init__(self) -> None:
        self.refused: str | None = None

    def __call__(
        self, action: int, _arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None
    ) -> int:
        reason = _REFUSED_ACTIONS.get(action)
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _REFUSED_FUNCTIONS:
            reason = f"the function {arg2}() is not allowed"
        if reason is None:
            return sqlite3.SQLITE_OK
        self.refused = reason
        return sqlite3.SQLITE_DENY


def refused_statement(statement: str, reason: str, field: str) -> ApiError:
    """A 400 naming the refused statement and why."""
    shown = " ".join(statement.split())[:200]
    return bad_request(f"the statement `{shown}` is not allowed: {reason}", field)


def split_statements(sql: str) -> list[str]:
    """The complete SQL statements of a script, in order."""
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return [s for s in statements if s.strip(" ;\n")]


class ConnectorsBackend(ConnectorsOperations[Call]):
    """Connector instances resolved from resources, and their sqlite databases."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.db = platform.db
        self.db.migrate("connectors", SCHEMA)
        self.tasks: set[asyncio.Task[None]] = set()

    def instance(self, principal: Principal, instance_id: str) -> dict[str, Any]:
        """The instance visible to the token (404 otherwise, so other tenants' ids are not revealed)."""
        for item in self.platform.backend(ResourcesBackend).locate_all("connector_instance", instance_id):
            org_id, ws_id = item["org_id"], item["workspace_id"]
            if org_id == principal.org_id and principal.workspace_id in (None, ws_id):
                return item
        raise not_found("connector instance", instance_id)

    def database_path(self, item: dict[str, Any]) -> Path:
        """The sqlite file of an instance (400 for an unsupported type or an unsafe name)."""
        spec = item["spec"]
        if spec.get("connector_type") != "sqlite":
            raise bad_request(
                f"connector type '{spec.get('connector_type')}' is not supported locally; use 'sqlite'",
                "connector_type",
            )
        name = str((spec.get("config") or {}).get("database") or f"{item['id']}.db")
        if "/" in name or "\\" in name or name.startswith(".") or not name:
            raise bad_request("config.database must be a plain file name", "config.database")
        folder: Path = self.platform.settings.data_dir / "connectors" / str(item["org_id"])
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def _connect(self, item: dict[str, Any]) -> tuple[sqlite3.Connection, Confinement]:
        conn = sqlite3.connect(self.database_path(item), isolation_level=None, timeout=30.0)
        conn.row_factory = sqlite3.Row
        confinement = Confinement()
        conn.set_authorizer(confinement)
        return conn, confinement

    def execute(self, item: dict[str, Any], operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run one operation."""
        runners = {
            "read_query": self._read,
            "insert_rows": self._insert,
            "execute_statement": self._statement,
        }
        if operation not in runners:
            raise bad_request(
                f"unknown operation '{operation}'; use read_query, insert_rows or execute_statement",
                "operation",
            )
        conn, confinement = self._connect(item)
        try:
            return {"operation": operation, **runners[operation](conn, params)}
        except sqlite3.Error as exc:
            if confinement.refused is not None:
                statement = str(params.get("query") or params.get("statement") or params.get("sql") or "")
                raise refused_statement(statement, confinement.refused, "params") from exc
            raise bad_request(f"the database refused the operation: {exc}", "params") from exc
        finally:
            conn.close()

    @staticmethod
    def _read(conn: sqlite3.Connection, params: dict[str, Any]) -> dict[str, Any]:
        query = params.get("query")
        if not isinstance(query, str) or not query.strip():
            raise bad_request("read_query needs params.query (a SELECT statement)", "params.query")
        conn.execute("PRAGMA query_only = ON")
        cursor = conn.execute(query, params.get("params") or [])
        columns = [c[0] for c in cursor.description or []]
        return {
            "rows": [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()],
            "columns": columns,
        }

    @staticmethod
    def _insert(conn: sqlite3.Connection, params: dict[str, Any]) -> dict[str, Any]:
        table, rows = params.get("table"), params.get("rows")
        if not isinstance(table, str) or not _IDENT.match(table):
            raise bad_request("insert_rows needs params.table (a plain table name)", "params.table")
        if not isinstance(rows, list) or not all(isinstance(r, dict) and r for r in rows):
            raise bad_request("insert_rows needs params.rows (a list of non-empty objects)", "params.rows")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for row in rows:
                columns = list(row)
                if not all(_IDENT.match(c) for c in columns):
                    raise bad_request("column names must be plain identifiers", "params.rows")
                conn.execute(
                    f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})',
                    list(row.values()),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return {"rows_affected": len(rows)}

    @staticmethod
    def _statement(conn: sqlite3.Connection, params: dict[str, Any]) -> dict[str, Any]:
        statement = params.get("statement") or params.get("sql")
        if not isinstance(statement, str) or not statement.strip():
            raise bad_request("execute_statement needs params.statement", "params.statement")
        cursor = conn.execute(statement, params.get("params") or [])
        return {"rows_affected": max(cursor.rowcount, 0)}

    def ddl(self, item: dict[str, Any], sql: str, confirm: bool) -> dict[str, Any]:
        """Preview DDL (nothing runs) or execute it in one transaction."""
        statements = split_statements(sql)
        if not statements:
            raise bad_request("sql holds no statement", "sql")
        objects = sorted({m.group(1).strip('"`[]') for s in statements for m in _DDL_OBJECT.finditer(s)})
        warnings = [
            f"statement {i + 1} drops data"
            for i, s in enumerate(statements)
            if re.match(r"\s*(DROP|DELETE|TRUNCATE)\b", s, re.I)
        ]
        result = {"statements": statements, "affected_objects": objects, "warnings": warnings}
        if not confirm:
            return {"status": "preview", "executed": False, **result}
        for statement in statements:
            if _VACUUM_INTO.match(statement):
                raise refused_statement(statement, _REFUSED_ACTIONS[sqlite3.SQLITE_ATTACH], "sql")
        conn, confinement = self._connect(item)
        current = ""
        try:
            conn.execute("BEGIN IMMEDIATE")
            for current in statements:
                conn.execute(current)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if confinement.refused is not None:
                raise refused_statement(current, confinement.refused, "sql") from exc
            raise bad_request(f"the DDL failed and nothing was applied: {exc}", "sql") from exc
        finally:
            conn.close()
        return {"status": "executed", "executed": True, **result}

    def submit_job(
        self,
        principal: Principal,
        item: dict[str, Any],
        operation: str,
        params: dict[str, Any],
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Queue a write job (the same idempotency key returns the same job)."""
        if operation not in _WRITE_OPS:
            raise bad_request(
                f"write jobs run insert_rows or execute_statement, not '{operation}'", "operation"
            )
        if idempotency_key:
            row = self.db.query_one(
                "SELECT job_id FROM connector_write_jobs WHERE org_id=? AND idempotency_key=?",
                (principal.org_id, idempotency_key),
            )
            if row is not None:
                return self.job(principal, row[0])
        job_id = new_id()
        self.db.execute(
            "INSERT INTO connector_write_jobs (job_id, org_id, instance_id, operation, status, created_at, idempotency_key)"
            " VALUES (?,?,?,?, 'queued', ?, ?)",
            (job_id, principal.org_id, item["id"], operation, now_iso(), idempotency_key),
        )
        task = asyncio.get_running_loop().create_task(self._run_job(job_id, item, operation, params))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return self.job(principal, job_id)

    async def _run_job(
        self, job_id: str, item: dict[str, Any], operation: str, params: dict[str, Any]
    ) -> None:
        self.db.execute("UPDATE connector_write_jobs SET status='running' WHERE job_id=?", (job_id,))
        try:
            result = await asyncio.to_thread(self.execute, item, operation, params)
            self.db.execute(
                "UPDATE connector_write_jobs SET status='completed', rows_affected=?, finished_at=? WHERE job_id=?",
                (result.get("rows_affected"), now_iso(), job_id),
            )
        except ApiError as exc:
            self.db.execute(
                "UPDATE connector_write_jobs SET status='failed', error=?, finished_at=? WHERE job_id=?",
                (exc.detail, now_iso(), job_id),
            )

    def job(self, principal: Principal, job_id: str) -> dict[str, Any]:
        """A write job of the caller's org (404 otherwise)."""
        row = self.db.query_one(
            "SELECT * FROM connector_write_jobs WHERE job_id=? AND org_id=?", (job_id, principal.org_id)
        )
        if row is None:
            raise not_found("write job", job_id)
        record = dict(row)
        try:
            self.instance(principal, str(record["instance_id"]))
        except ApiError as exc:
            raise not_found("write job", job_id) from exc
        for key in ("org_id", "idempotency_key"):
            record.pop(key)
        return {
            k: v for k, v in record.items() if v is not None or k in ("finished_at", "rows_affected", "error")
        }

    async def execute_connector_operation(
        self, call: Call, *, instance_id: str, body: ConnectorOperation
    ) -> ConnectorOperationResult:
        """Run one operation on an instance of the caller's organization."""
        item = self.instance(call.principal, instance_id)
        result = await asyncio.to_thread(self.execute, item, body.operation, body.params)
        return ConnectorOperationResult.model_validate(result)

    async def execute_connector_ddl(self, call: Call, *, instance_id: str, body: DdlRequest) -> DdlResult:
        """Preview DDL, or run it with ``confirm``."""
        item = self.instance(call.principal, instance_id)
        return DdlResult.model_validate(await asyncio.to_thread(self.ddl, item, body.sql, body.confirm))

    async def submit_connector_write_job(
        self, call: Call, *, instance_id: str, idempotency_key: str | None, body: ConnectorOperation
    ) -> ConnectorWriteJob:
        """Queue a write operation; the same idempotency key returns the same job."""
        principal = call.principal
        item = self.instance(principal, instance_id)
        job = self.submit_job(principal, item, body.operation, body.params, idempotency_key)
        return ConnectorWriteJob.model_validate(job)

    async def get_connector_write_job(
        self, call: Call, *, job_id: str, wait_seconds: float
    ) -> ConnectorWriteJob:
        """A write job, held up to ``wait_seconds`` while it is not finished."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        job = self.job(call.principal, job_id)
        while job["status"] in ("queued", "running") and loop.time() < deadline:
            await asyncio.sleep(0.05)
            job = self.job(call.principal, job_id)
        return ConnectorWriteJob.model_validate(job)
