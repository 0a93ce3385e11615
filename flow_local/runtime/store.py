"""Executions and their events in SQLite: every state change is one conditional UPDATE.

A terminal state is written only over a non-terminal one, so whichever of output, timeout, cancel or
a lost runner comes first wins and later reports are ignored. Each change is a single statement (with
``RETURNING`` where the caller needs the row), which SQLite commits on its own: no separate read after a
write and no BEGIN/COMMIT round around one statement, as every execution passes here several times.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flow_local.db import Database, IntegrityError, Row, from_json, to_json
from flow_local.errors import not_found
from flow_local.paging import Keyset, select_page
from flow_local.values import now_iso

TERMINAL = ("completed", "failed", "timeout", "cancelled")
Records = list[dict[str, Any]]
EXECUTIONS_ORDER = Keyset("executions", ("created_at", "execution_id"), descending=True)
"""Newest first; the id breaks ties between executions created in the same microsecond."""
JSON_COLUMNS = ("input", "config", "context", "output", "error", "usage", "messages", "steps")

SCHEMA = [
    "CREATE TABLE executions (execution_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, workspace_id TEXT NOT NULL,"
    " component_type TEXT NOT NULL, component_id TEXT NOT NULL, component_version INTEGER, ring_id TEXT NOT NULL,"
    " status TEXT NOT NULL, execution_mode TEXT NOT NULL, input TEXT, config TEXT, context TEXT,"
    " lifecycle_event TEXT, caller_deployment_id TEXT, timeout_seconds INTEGER NOT NULL,"
    " idempotency_key TEXT, billing_txn_id TEXT NOT NULL, parent_billing_txn_id TEXT, subject TEXT,"
    " attempt INTEGER NOT NULL DEFAULT 1, cancel_requested INTEGER NOT NULL DEFAULT 0,"
    " dispatched INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, started_at TEXT, finished_at TEXT,"
    " created_mono REAL, started_mono REAL, output TEXT, error TEXT, usage TEXT, messages TEXT,"
    " conversation_id TEXT, steps TEXT, stdout TEXT, stderr TEXT)",
    "CREATE UNIQUE INDEX executions_idem ON executions (org_id, workspace_id, idempotency_key)"
    " WHERE idempotency_key IS NOT NULL",
    "CREATE INDEX executions_ws ON executions (org_id, workspace_id, created_at)",
    "CREATE INDEX executions_status ON executions (status)",
    "CREATE TABLE execution_events (execution_id TEXT NOT NULL, seq INTEGER NOT NULL, event_type TEXT NOT NULL,"
    " data TEXT NOT NULL, created_at TEXT NOT NULL, source_seq INTEGER,"
    " PRIMARY KEY (execution_id, seq))",
    "CREATE UNIQUE INDEX execution_events_source ON execution_events (source_seq) WHERE source_seq IS NOT NULL",
]


class ExecutionStore:
    """Persistence of executions and events."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("executions", SCHEMA)

    @staticmethod
    def _record(row: Row) -> dict[str, Any]:
        item = dict(row)
        for column in JSON_COLUMNS:
            item[column] = from_json(item[column])
        item["cancel_requested"] = bool(item["cancel_requested"])
        return item

    def _change(self, sql: str, params: Sequence[Any]) -> list[Row]:
        """Run one write statement (its own transaction, or part of the caller's) and return its rows.

        Every row is fetched, so a ``RETURNING`` statement is complete (and committed) on return.
        """
        return self.db.query(sql, params)

    def insert(self, item: dict[str, Any]) -> dict[str, Any]:
        """Insert a new execution; with an idempotency key already used, return the existing one instead."""
        row = {k: (to_json(v) if k in JSON_COLUMNS else v) for k, v in item.items()}
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        try:
            rows = self._change(
                f"INSERT INTO executions ({columns}) VALUES ({marks}) RETURNING *", list(row.values())
            )
        except IntegrityError:
            existing = self.find_by_key(item["org_id"], item["workspace_id"], item.get("idempotency_key"))
            if existing is None:
                raise
            return existing
        return self._record(rows[0])

    def find_by_key(self, org_id: str, workspace_id: str, key: str | None) -> dict[str, Any] | None:
        """The execution submitted with an idempotency key, if any."""
        if not key:
            return None
        row = self.db.query_one(
            "SELECT * FROM executions WHERE org_id=? AND workspace_id=? AND idempotency_key=?",
            (org_id, workspace_id, key),
        )
        return None if row is None else self._record(row)

    def get(self, execution_id: str) -> dict[str, Any]:
        """One execution (404 when absent)."""
        row = self.db.query_one("SELECT * FROM executions WHERE execution_id=?", (execution_id,))
        if row is None:
            raise not_found("execution", execution_id)
        return self._record(row)

    def status_of(self, execution_id: str) -> str | None:
        """The status of an execution (None when there is no such execution)."""
        row = self.db.query_one("SELECT status FROM executions WHERE execution_id=?", (execution_id,))
        return None if row is None else str(row[0])

    def statuses_in(self, org_id: str, workspace_id: str, execution_ids: list[str]) -> dict[str, str]:
        """The status of each of ``execution_ids`` that is an execution of the workspace, in one read."""
        marks = ",".join("?" * len(execution_ids))
        rows = self.db.query(
            f"SELECT execution_id, status FROM executions WHERE org_id=? AND workspace_id=? "
            f"AND execution_id IN ({marks})",
            (org_id, workspace_id, *execution_ids),
        )
        return {str(row[0]): str(row[1]) for row in rows}

    def records_in(self, org_id: str, workspace_id: str, execution_ids: list[str]) -> Records:
        """The executions of the workspace among ``execution_ids``, in one read."""
        if not execution_ids:
            return []
        marks = ",".join("?" * len(execution_ids))
        rows = self.db.query(
            f"SELECT * FROM executions WHERE org_id=? AND workspace_id=? AND execution_id IN ({marks})",
            (org_id, workspace_id, *execution_ids),
        )
        return [self._record(row) for row in rows]

    def get_in(self, org_id: str, workspace_id: str, execution_id: str) -> dict[str, Any]:
        """One execution of a workspace (404 when absent or in another workspace)."""
        item = self.get(execution_id)
        if item["org_id"] != org_id or item["workspace_id"] != workspace_id:
            raise not_found("execution", execution_id)
        return item

    def list(
        self,
        org_id: str,
        workspace_id: str,
        status: str | None,
        limit: int,
        offset: int = 0,
        cursor: str | None = None,
        *,
        component_type: str | None = None,
        component_id: str | None = None,
    ) -> tuple[Records, str | None]:
        """One page of a workspace's executions, newest first, and the cursor of the next page.

        ``status``, ``component_type`` and ``component_id`` narrow the list when given.
        """
        sql = "SELECT * FROM executions WHERE org_id=? AND workspace_id=?"
        params: list[Any] = [org_id, workspace_id]
        for column, value in (
            ("status", status),
            ("component_type", component_type),
            ("component_id", component_id),
        ):
            if value:
                sql += f" AND {column}=?"
                params.append(value)
        page = select_page(self.db, EXECUTIONS_ORDER, sql, params, limit=limit, cursor=cursor, offset=offset)
        return [self._record(r) for r in page.rows], page.next_cursor

    def active(self) -> Records:
        """Every pending or running execution, oldest first."""
        rows = self.db.query(
            "SELECT * FROM executions WHERE status IN ('pending','running') ORDER BY created_at"
        )
        return [self._record(r) for r in rows]

    def active_summary(self) -> Records:
        """The state of every pending or running execution (the columns recovery needs, no payloads)."""
        rows = self.db.query(
            "SELECT execution_id, status, execution_mode, dispatched, created_at, started_mono, timeout_seconds"
            " FROM executions WHERE status IN ('pending','running') ORDER BY created_at"
        )
        return [dict(r) for r in rows]

    def mark_dispatched(self, execution_id: str) -> None:
        """Record that input and job were published."""
        self._change("UPDATE executions SET dispatched=1 WHERE execution_id=?", (execution_id,))

    def mark_running(self, execution_id: str, started_mono: float) -> int | None:
        """pending → running; return the execution's ``timeout_seconds``, or None when it was not pending."""
        rows = self._change(
            "UPDATE executions SET status='running', started_at=?, started_mono=?"
            " WHERE execution_id=? AND status='pending' RETURNING timeout_seconds",
            (now_iso(), started_mono, execution_id),
        )
        return int(rows[0][0]) if rows else None

    def retry(self, execution_id: str, attempt: int) -> bool:
        """running/pending → pending with the attempt after ``attempt``; False when already terminal or
        retried by someone else (another replica that saw the same lost runner)."""
        changed = self.db.execute(
            "UPDATE executions SET status='pending', attempt=attempt+1, started_at=NULL, started_mono=NULL,"
            " dispatched=0 WHERE execution_id=? AND attempt=? AND status IN ('pending','running')",
            (execution_id, attempt),
        )
        return changed > 0

    def request_cancel(self, execution_id: str) -> None:
        """Flag a cancellation request."""
        self.db.execute("UPDATE executions SET cancel_requested=1 WHERE execution_id=?", (execution_id,))

    def finish(self, execution_id: str, status: str, fields: dict[str, Any]) -> bool:
        """Move a non-terminal execution to a terminal ``status`` with result ``fields``; False if already terminal.

        A ``started_at`` among the fields is stored only when the execution has no start yet (its runner
        ended it before the platform heard it had started it): start and end in one write.
        """
        values = {k: (to_json(v) if k in JSON_COLUMNS else v) for k, v in fields.items()}
        assignments = "".join(f", {k}=COALESCE({k}, ?)" if k == "started_at" else f", {k}=?" for k in values)
        rows = self._change(
            f"UPDATE executions SET status=?, finished_at=?{assignments}"
            " WHERE execution_id=? AND status IN ('pending','running') RETURNING 1",
            (status, now_iso(), *values.values(), execution_id),
        )
        return bool(rows)

    def set_steps(self, execution_id: str, steps: dict[str, Any]) -> None:
        """Store a workflow's per-step progress."""
        self.db.execute("UPDATE executions SET steps=? WHERE execution_id=?", (to_json(steps), execution_id))

    def add_event(
        self, execution_id: str, event_type: str, data: dict[str, Any], source_seq: int | None
    ) -> int | None:
        """Append an event (ignored when ``source_seq`` was stored already); return its seq."""
        with self.db.transaction() as conn:
            if (
                source_seq is not None
                and conn.execute(
                    "SELECT 1 FROM execution_events WHERE source_seq=?", (source_seq,)
                ).fetchone()
            ):
                return None
            row = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM execution_events WHERE execution_id=?", (execution_id,)
            ).fetchone()
            seq = int(row[0])
            conn.execute(
                "INSERT INTO execution_events VALUES (?,?,?,?,?,?)",
                (execution_id, seq, event_type, to_json(data), now_iso(), source_seq),
            )
            return seq

    def events(self, execution_id: str, after_seq: int, limit: int = 1000) -> Records:
        """Events after a sequence number, in order."""
        rows = self.db.query(
            "SELECT seq, event_type, data, created_at FROM execution_events WHERE execution_id=? AND seq>?"
            " ORDER BY seq LIMIT ?",
            (execution_id, after_seq, limit),
        )
        return [{**dict(r), "data": from_json(r["data"], {})} for r in rows]

    def captured(self, execution_id: str) -> tuple[str | None, str | None, dict[str, Any] | None]:
        """The stdout, stderr and last error event an execution pushed."""
        out: list[str] = []
        err: list[str] = []
        error: dict[str, Any] | None = None
        for event in self.events(execution_id, 0, 100000):
            data = event["data"]
            if event["event_type"] == "message" and data.get("stream") in ("stdout", "stderr"):
                (out if data["stream"] == "stdout" else err).append(str(data.get("text", "")))
            elif event["event_type"] == "error":
                error = data
        return ("".join(out) or None), ("".join(err) or None), error
