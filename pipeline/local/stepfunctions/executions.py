"""Step Functions state: state machines, executions and their history, in SQLite.

The runner claims new executions and writes their history; clients in any process read
them, and reading changes nothing. An execution whose runner died is failed by the next
runner (see :mod:`pipeline.local.runner`), never left RUNNING.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.local.core.arns import arn_prefix
from pipeline.local.core.clock import now_ms
from pipeline.local.core.db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    cause TEXT,
    start_ms INTEGER NOT NULL,
    stop_ms INTEGER,
    time_scale REAL NOT NULL,
    runner_pid INTEGER,
    stop_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS executions_by_machine ON executions (state_machine_arn, start_ms);
CREATE TABLE IF NOT EXISTS history (
    execution_arn TEXT NOT NULL,
    id INTEGER NOT NULL,
    timestamp_ms INTEGER NOT NULL,
    type TEXT NOT NULL,
    details TEXT,
    PRIMARY KEY (execution_arn, id)
);
CREATE TABLE IF NOT EXISTS execution_jobs (
    execution_arn TEXT NOT NULL,
    job_id TEXT NOT NULL,
    PRIMARY KEY (execution_arn, job_id)
);
"""
DEFAULT_TIME_SCALE = 0.01
RUNNER_DIED = "States.Runtime"


def time_scale() -> float:
    """How much Wait states and retry intervals are compressed (``N2N_TIME_SCALE``)."""
    return float(os.environ.get("N2N_TIME_SCALE") or DEFAULT_TIME_SCALE)


@dataclass(frozen=True)
class StateMachineRecord:
    """A deployed state machine."""

    arn: str
    name: str
    definition: str
    role_arn: str
    created_ms: int


@dataclass(frozen=True)
class ExecutionRecord:
    """One execution as stored."""

    arn: str
    state_machine_arn: str
    name: str
    status: str
    input: str
    output: str | None
    error: str | None
    cause: str | None
    start_ms: int
    stop_ms: int | None
    time_scale: float
    runner_pid: int | None
    stop_requested: int


class Executions:
    """The Step Functions model of one ``N2N_HOME``."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.db = Database(self.home, "sfn", SCHEMA)

    def put_state_machine(self, arn: str, name: str, definition: str, role_arn: str) -> None:
        """Create or replace a state machine."""
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO state_machines VALUES (?, ?, ?, ?, ?) ON CONFLICT(arn) DO UPDATE "
                "SET definition = excluded.definition, role_arn = excluded.role_arn",
                (arn, name, definition, role_arn, now_ms()),
            )

    def delete_state_machine(self, arn: str) -> None:
        """Remove a state machine (its executions stay readable, as on AWS for a while)."""
        with self.db.transaction() as db:
            db.execute("DELETE FROM state_machines WHERE arn = ?", (arn,))

    def state_machine(self, arn: str) -> StateMachineRecord | None:
        """The state machine with this ARN, or None."""
        row = self.db.execute("SELECT * FROM state_machines WHERE arn = ?", (arn,)).fetchone()
        return StateMachineRecord(**row) if row else None

    def state_machines(self, region: str) -> list[StateMachineRecord]:
        """The region's state machines, by name."""
        rows = self.db.execute(
            "SELECT * FROM state_machines WHERE substr(arn, 1, ?) = ? ORDER BY name",
            (len(arn_prefix("states", region)), arn_prefix("states", region)),
        ).fetchall()
        return [StateMachineRecord(**row) for row in rows]

    def start(self, arn: str, state_machine_arn: str, name: str, payload: str) -> ExecutionRecord:
        """Record a new RUNNING execution for the runner to claim."""
        with self.db.transaction() as db:
            db.execute(
                "INSERT INTO executions (arn, state_machine_arn, name, status, input, start_ms,"
                " time_scale) VALUES (?, ?, ?, 'RUNNING', ?, ?, ?)",
                (arn, state_machine_arn, name, payload, now_ms(), time_scale()),
            )
        return self.get(arn)

    def get(self, arn: str) -> ExecutionRecord | None:
        """The execution as stored, or None."""
        row = self.db.execute("SELECT * FROM executions WHERE arn = ?", (arn,)).fetchone()
        return ExecutionRecord(**row) if row else None

    def list(self, state_machine_arn: str, status: str | None = None) -> list[ExecutionRecord]:
        """The state machine's executions, newest first."""
        rows = self.db.execute(
            "SELECT * FROM executions WHERE state_machine_arn = ? ORDER BY start_ms DESC",
            (state_machine_arn,),
        )
        records = [ExecutionRecord(**row) for row in rows.fetchall()]
        return [r for r in records if status is None or r.status == status]

    def unclaimed(self) -> list[str]:
        """Executions no runner has picked up yet."""
        rows = self.db.execute(
            "SELECT arn FROM executions WHERE status = 'RUNNING' AND runner_pid IS NULL"
        )
        return [row["arn"] for row in rows]

    def claimed_running(self) -> list[ExecutionRecord]:
        """RUNNING executions a runner has claimed."""
        rows = self.db.execute(
            "SELECT * FROM executions WHERE status = 'RUNNING' AND runner_pid IS NOT NULL"
        )
        return [ExecutionRecord(**row) for row in rows]

    def claim(self, arn: str, pid: int) -> bool:
        """Take an unclaimed execution for the runner ``pid``."""
        with self.db.transaction() as db:
            cursor = db.execute(
                "UPDATE executions SET runner_pid = ? WHERE arn = ? AND runner_pid IS NULL",
                (pid, arn),
            )
        return cursor.rowcount == 1

    def fail_unclaimed(self, arn: str, error: str, cause: str, before_ms: int) -> bool:
        """Fail an execution started before ``before_ms`` that no runner claimed; False
        when a runner claimed it (or it ended) meanwhile."""
        with self.db.transaction() as db:
            cursor = db.execute(
                "UPDATE executions SET status = 'FAILED', error = ?, cause = ?, stop_ms = ? "
                "WHERE arn = ? AND status = 'RUNNING' AND runner_pid IS NULL AND start_ms <= ?",
                (error, cause, now_ms(), arn, before_ms),
            )
            if cursor.rowcount:
                self._append(db, arn, "ExecutionFailed", _error_details(error, cause))
        return cursor.rowcount == 1

    def stop_requested(self, pid: int) -> list[str]:
        """Executions of runner ``pid`` whose stop was asked for."""
        rows = self.db.execute(
            "SELECT arn FROM executions WHERE runner_pid = ? AND stop_requested = 1", (pid,)
        )
        return [row["arn"] for row in rows]

    def request_stop(self, arn: str, error: str | None, cause: str | None) -> int:
        """Mark the execution ABORTED now (as AWS does) and ask its runner to stop it."""
        stopped = now_ms()
        with self.db.transaction() as db:
            cursor = db.execute(
                "UPDATE executions SET status = 'ABORTED', stop_requested = 1, stop_ms = ?, "
                "error = ?, cause = ? WHERE arn = ? AND status = 'RUNNING'",
                (stopped, error, cause, arn),
            )
            if cursor.rowcount:
                self._append(db, arn, "ExecutionAborted", _error_details(error, cause))
        return stopped

    def finish(
        self,
        arn: str,
        status: str,
        *,
        output: str | None = None,
        error: str | None = None,
        cause: str | None = None,
    ) -> bool:
        """End a RUNNING execution; False when it had already ended (e.g. was stopped)."""
        with self.db.transaction() as db:
            cursor = db.execute(
                "UPDATE executions SET status = ?, output = ?, error = ?, cause = ?, stop_ms = ? "
                "WHERE arn = ? AND status = 'RUNNING'",
                (status, output, error, cause, now_ms(), arn),
            )
            if cursor.rowcount and status == "FAILED" and error == RUNNER_DIED:
                self._append(db, arn, "ExecutionFailed", _error_details(error, cause))
        return cursor.rowcount == 1

    def record(self, arn: str, event_type: str, details: dict[str, Any] | None) -> None:
        """Append a history event while the execution runs (dropped once it was stopped)."""
        with self.db.transaction() as db:
            row = db.execute("SELECT status FROM executions WHERE arn = ?", (arn,)).fetchone()
            if row and row["status"] == "RUNNING":
                self._append(db, arn, event_type, details)

    @staticmethod
    def _append(db: Any, arn: str, event_type: str, details: dict[str, Any] | None) -> None:
        db.execute(
            "INSERT INTO history SELECT ?, COALESCE(MAX(id), 0) + 1, ?, ?, ? FROM history "
            "WHERE execution_arn = ?",
            (arn, now_ms(), event_type, json.dumps(details) if details else None, arn),
        )

    def history(self, arn: str) -> list[dict[str, Any]]:
        """The execution's events in order: id, timestamp_ms, type, details."""
        rows = self.db.execute(
            "SELECT id, timestamp_ms, type, details FROM history WHERE execution_arn = ? "
            "ORDER BY id",
            (arn,),
        )
        return [
            {
                "id": row["id"],
                "timestamp_ms": row["timestamp_ms"],
                "type": row["type"],
                "details": json.loads(row["details"]) if row["details"] else None,
            }
            for row in rows
        ]

    def add_job(self, arn: str, job_id: str) -> None:
        """Remember a Batch job the execution submitted (so a stop can terminate it)."""
        with self.db.transaction() as db:
            db.execute("INSERT OR IGNORE INTO execution_jobs VALUES (?, ?)", (arn, job_id))

    def terminate_jobs(self, arn: str, batch: Any) -> None:
        """Terminate every Batch job the execution submitted (through ``batch``)."""
        for job_id in self.jobs(arn):
            batch.terminate_job(jobId=job_id, reason="Execution stopped")

    def jobs(self, arn: str) -> list[str]:
        """The Batch jobs the execution submitted."""
        rows = self.db.execute("SELECT job_id FROM execution_jobs WHERE execution_arn = ?", (arn,))
        return [row["job_id"] for row in rows]


def _error_details(error: str | None, cause: str | None) -> dict[str, str]:
    details = {}
    if error:
        details["error"] = error
    if cause:
        details["cause"] = cause
    return details
