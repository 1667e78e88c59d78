"""The dispatch loop of the local Batch engine.

The engine keeps the authoritative scheduling state in memory: it admits submissions by
reading the jobs table for new rows (when a client rings its doorbell, and every
``POLL_S`` in case a ring was lost), obeys terminate/cancel requests from the requests
table, places RUNNABLE units onto compute environment capacity, collects finished
attempts from the execution pool, applies retry strategies and dependencies, and writes
the transitions and log events back through the journal every ``FLUSH_S`` seconds.
Other processes' reads lag the engine by at most about one flush.

Behind each attempt running in a worker process, the engine queues the unit that will take
its slot (STARTING, as AWS shows a job placed on a host whose container is starting): the
worker process starts it the moment the running one ends, instead of waiting for a round
trip through this loop, which on a machine with fewer cores than slots left a quarter of
the slot time idle. It keeps AWS's STARTING semantics: TerminateJob fails it (the worker
process skips it), CancelJob leaves it, and a worker process or engine that goes away
hands it back RUNNABLE with no attempt counted.
"""

from __future__ import annotations

import heapq
import itertools
import json
import os
import selectors
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from pipeline.local.batch.dependencies import wire
from pipeline.local.batch.doorbell import Doorbell, open_doorbell
from pipeline.local.batch.environment import child_environment, job_command, job_environment
from pipeline.local.batch.journal import Batch, Journal
from pipeline.local.batch.models import (
    DEPENDENT_FAILED_REASON,
    EXITED_REASON,
    KILLED_EXIT_CODE,
    TERMINAL,
    TIMEOUT_REASON,
    Job,
    JobSpec,
    Unit,
    host_terminated_reason,
    worker_reason,
)
from pipeline.local.batch.pool import Attempt, AttemptPool, Outcome
from pipeline.local.batch.retries import should_retry
from pipeline.local.batch.schema import open_batch_db
from pipeline.local.batch.slots import ComputeEnvironment, JobQueue, Slots
from pipeline.local.core.arns import DEFAULT_REGION, arn
from pipeline.local.core.clock import now_ms
from pipeline.local.logs.models import StreamLog

POLL_S = 0.1
"""How often new submissions, requests and registration changes are looked for without a
ring of the doorbell."""
FLUSH_S = 0.1
"""How often transitions and log events are written."""

CLUSTER_ARN = arn("ecs", DEFAULT_REGION, "cluster/local")
UNKNOWN_INSTANCE = "local-unknown"


def default_max_workers() -> int:
    """``$N2N_MAX_WORKERS`` when set, else the CPU count."""
    return int(os.environ.get("N2N_MAX_WORKERS") or 0) or os.cpu_count() or 1


def _instance_arn(instance: str) -> str:
    return f"{CLUSTER_ARN.replace(':cluster/', ':container-instance/')}/{instance}"


def _instance(container: dict[str, Any]) -> str:
    return container.get("containerInstanceArn", "").rpartition("/")[2] or UNKNOWN_INSTANCE


class BatchEngine:
    """Runs the jobs submitted under ``home``: ``run(stop)`` is the dispatch loop."""

    def __init__(self, home: Path, max_workers: int | None = None) -> None:
        self.home = Path(home)
        self.max_workers = max_workers or default_max_workers()
        self._capacity = Slots(self.max_workers)
        self._jobs: dict[str, Job] = {}
        self._running: dict[Attempt, tuple[Unit, ComputeEnvironment, int]] = {}
        self._queued: dict[Attempt, tuple[Unit, ComputeEnvironment, Attempt]] = {}
        self._deadlines: list[tuple[float, int, Unit, int]] = []
        self._tiebreak = itertools.count()
        self._dirty_units: set[Unit] = set()
        self._dirty_jobs: set[Job] = set()
        self._ended: list[Job] = []
        self._logs: list[StreamLog] = []
        self._handled: list[int] = []
        self._last_seq = 0
        self._last_request = 0
        self._config = -1
        self._live = 0
        self._journal: Journal | None = None
        self._db: sqlite3.Connection | None = None
        self._pool: AttemptPool | None = None
        self._selector: selectors.BaseSelector | None = None
        self._doorbell: Doorbell | None = None
        self._busy_lock = threading.Lock()
        self._busy_db: sqlite3.Connection | None = None

    # -- public ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Dispatch until ``stop`` is set; then kill running attempts (they fail as if
        their host was terminated, and follow their retry strategy) and write everything."""
        self._db = open_batch_db(self.home)
        self._journal = Journal(self.home)
        self._pool = AttemptPool()
        self._selector = selectors.DefaultSelector()
        self._doorbell = open_doorbell(self.home)
        if self._doorbell is not None:
            self._selector.register(self._doorbell.fileno(), selectors.EVENT_READ)
        try:
            self._pool.warm()
            self._recover()
            next_poll = next_flush = 0.0
            while not stop.is_set():
                now = time.monotonic()
                if now >= next_poll:
                    self._poll()
                    next_poll = now + POLL_S
                self._dispatch()
                self._prefetch()
                self._expire(now)
                if now >= next_flush:
                    self._flush()
                    next_flush = now + FLUSH_S
                deadline = self._deadlines[0][0] if self._deadlines else next_poll
                timeout = max(0.0, min(next_poll, next_flush, deadline) - time.monotonic())
                if timeout and self._pool.grow(self._capacity.most_running()):
                    timeout = 0.0
                for key, _ in self._selector.select(timeout):
                    if key.data is None:
                        self._doorbell.clear()
                        next_poll = 0.0
                    elif key.data in self._running:
                        outcome = key.data.collect()
                        if outcome is not None:
                            self._complete(key.data, outcome)
        finally:
            self._shutdown()

    def busy(self) -> bool:
        """True while any job can still change state (or a write is still pending)."""
        if self._live or self._running or (self._journal and self._journal.pending):
            return True
        with self._busy_lock:
            if self._busy_db is None:
                self._busy_db = open_batch_db(self.home)
            row = self._busy_db.execute(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE seq > ?"
                " AND status NOT IN ('SUCCEEDED', 'FAILED'))"
                " OR EXISTS (SELECT 1 FROM requests WHERE id > ?)",
                (self._last_seq, self._last_request),
            ).fetchone()
        return bool(row[0])

    # -- admission -----------------------------------------------------------------------

    def _recover(self) -> None:
        """Load the jobs a previous engine left unfinished; attempts it left running
        failed with it, as on a host termination."""
        last = self._db.execute("SELECT coalesce(max(seq), 0) FROM jobs").fetchone()[0]
        rows = self._db.execute(
            "SELECT * FROM jobs WHERE seq <= ? AND status NOT IN ('SUCCEEDED', 'FAILED')"
            " ORDER BY seq",
            (last,),
        ).fetchall()
        self._reload_capacity()
        for row in rows:
            self._admit(row, restore=True)
        self._last_seq = last

    def _poll(self) -> None:
        self._reload_capacity()
        for row in self._db.execute(
            "SELECT * FROM jobs WHERE seq > ? ORDER BY seq", (self._last_seq,)
        ).fetchall():
            self._admit(row, restore=False)
            self._last_seq = row["seq"]
        for row in self._db.execute(
            "SELECT * FROM requests WHERE id > ? ORDER BY id", (self._last_request,)
        ).fetchall():
            self._obey(row)
            self._last_request = row["id"]

    def _reload_capacity(self) -> None:
        config = self._db.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0]
        if config == self._config:
            return
        self._config = config
        self._capacity.load(
            (json.loads(r[0]) for r in self._db.execute("SELECT doc FROM compute_environments")),
            (json.loads(r[0]) for r in self._db.execute("SELECT doc FROM job_queues")),
        )

    def _admit(self, row: sqlite3.Row, restore: bool) -> None:
        request = json.loads(row["request"])
        spec = JobSpec.from_request(request)
        job = Job(dict(row), spec)
        job.environment = job_environment(self.home, spec)
        job.command = job_command(self.home, spec)
        self._live += 1
        self._jobs[job.job_id] = job
        if restore:
            self._restore_units(job, row)
        failed = wire(job, request.get("dependsOn", []), self._jobs, self._finished_status)
        if job.is_array:
            job.status = "PENDING"
            self._dirty_jobs.add(job)
        failing = {id(unit) for unit in failed}
        for unit in job.units:
            if unit.status == "RUNNING":
                self._lose_restored_attempt(unit)
            elif unit.status not in TERMINAL and id(unit) not in failing:
                if unit.waiting:
                    unit.status = "PENDING"
                    self._touch(unit)
                else:
                    self._make_runnable(unit)
        for unit in failed:
            self._end(unit, "FAILED", DEPENDENT_FAILED_REASON)
        if job.remaining == 0:
            self._close(job)

    def _restore_units(self, job: Job, row: sqlite3.Row) -> None:
        records = (
            self._db.execute("SELECT * FROM children WHERE parent_id = ?", (job.job_id,))
            if job.is_array
            else [row]
        )
        for record in records:
            unit = job.units[record["idx"]] if job.is_array else job.units[0]
            unit.status = record["status"]
            unit.reason = record["status_reason"]
            unit.started_at = record["started_at"]
            unit.stopped_at = record["stopped_at"]
            unit.attempts = json.loads(record["attempts"])
            unit.container = json.loads(record["container"])
            if unit.status in TERMINAL:
                job.remaining -= 1
                job.failed |= unit.status == "FAILED"

    def _lose_restored_attempt(self, unit: Unit) -> None:
        started = unit.started_at or now_ms()
        outcome = Outcome(None, started, max(started, now_ms()), host_lost=True)
        self._settle_attempt(unit, outcome, None, _instance(unit.container))

    def _finished_status(self, job_id: str, index: int | None) -> str | None:
        if index is None:
            row = self._db.execute("SELECT status FROM jobs WHERE job_id = ?", (job_id,))
        else:
            row = self._db.execute(
                "SELECT status FROM children WHERE parent_id = ? AND idx = ?", (job_id, index)
            )
        found = row.fetchone()
        return found[0] if found else None

    # -- requests ------------------------------------------------------------------------

    def _obey(self, row: sqlite3.Row) -> None:
        parent_id, _, index = row["job_id"].partition(":")
        job = self._jobs.get(parent_id)
        self._handled.append(row["id"])
        if job is None:
            return
        if not index:
            units = job.units
        elif job.is_array and index.isdigit() and int(index) < len(job.units):
            units = [job.units[int(index)]]
        else:
            return
        for unit in units:
            if unit.status in TERMINAL:
                continue
            if unit.execution is None:
                self._end(unit, "FAILED", row["reason"])
            elif row["kind"] != "terminate":
                continue  # CancelJob leaves STARTING and RUNNING jobs alone, as on AWS
            elif unit.status == "STARTING":
                self._withdraw(unit, row["reason"])
            else:
                self._kill(unit, row["reason"])

    # -- running -------------------------------------------------------------------------

    def _touch(self, unit: Unit) -> None:
        if unit.index is None:
            self._dirty_jobs.add(unit.job)
        else:
            self._dirty_units.add(unit)

    def _make_runnable(self, unit: Unit) -> None:
        unit.status = "RUNNABLE"
        self._touch(unit)
        self._capacity.queue(unit.job.queue).push(unit)

    def _dispatch(self) -> None:
        for unit, environment, queue in self._capacity.placements():
            self._start(unit, environment, queue)

    def _attempt_environment(
        self, unit: Unit, environment: ComputeEnvironment, queue: JobQueue
    ) -> dict[str, str]:
        """The variables of ``unit``'s next attempt; gives the unit its task and log stream."""
        job = unit.job
        variables = child_environment(
            job.environment,
            unit.job_id,
            unit.index,
            job.size,
            len(unit.attempts) + 1,
            queue.name,
            environment.name,
        )
        task_id = uuid.uuid4().hex
        unit.container = {
            "taskArn": f"{CLUSTER_ARN.replace(':cluster/', ':task/')}/{task_id}",
            "logStreamName": f"{job.spec.stream_prefix}/default/{task_id}",
        }
        return variables

    def _start(self, unit: Unit, environment: ComputeEnvironment, queue: JobQueue) -> None:
        variables = self._attempt_environment(unit, environment, queue)
        try:
            execution = self._pool.start(unit.job.command, variables)
        except OSError as error:
            now = now_ms()
            reason = f"CannotStartContainerError: {error.strerror or error}"
            self._settle_attempt(unit, Outcome(None, now, now), reason, UNKNOWN_INSTANCE)
            return
        self._run(unit, environment, execution)

    def _run(self, unit: Unit, environment: ComputeEnvironment, execution: Attempt) -> None:
        """Account for an attempt of ``unit`` that started on ``environment``."""
        job = unit.job
        environment.acquire(job.spec.vcpus)
        unit.container["containerInstanceArn"] = _instance_arn(execution.instance)
        unit.status = "RUNNING"
        unit.started_at = execution.started_at
        unit.stopped_at = None
        unit.execution = execution
        fd = execution.fileno()
        self._selector.register(fd, selectors.EVENT_READ, execution)
        self._running[execution] = (unit, environment, fd)
        self._touch(unit)
        if job.is_array and job.started_at is None:
            job.started_at = execution.started_at
            self._dirty_jobs.add(job)
        if job.spec.timeout_s:
            heapq.heappush(
                self._deadlines,
                (
                    time.monotonic() + job.spec.timeout_s,
                    next(self._tiebreak),
                    unit,
                    len(unit.attempts) + 1,
                ),
            )

    def _prefetch(self) -> None:
        """Queue, behind each running attempt, the RUNNABLE unit that will take its place on
        its compute environment: it waits on the same worker process (STARTING, as a job
        placed on a host whose container is starting) and starts the moment that attempt
        ends, instead of after a round trip through this loop."""
        for execution, (running, environment, _) in list(self._running.items()):
            if execution in self._queued:
                continue
            found = self._capacity.successor(environment, running.job.spec.vcpus)
            if found is None:
                continue
            unit, queue = found
            if not self._pool.can_queue_after(execution, unit.job.command):
                continue
            variables = self._attempt_environment(unit, environment, queue)
            queued = self._pool.queue_after(execution, unit.job.command, variables)
            if queued is None:
                continue
            queue.take(unit)
            unit.status = "STARTING"
            unit.execution = queued
            unit.container["containerInstanceArn"] = _instance_arn(queued.instance)
            self._queued[execution] = (unit, environment, queued)
            self._touch(unit)

    def _follow(
        self, ended: Attempt, unit: Unit, environment: ComputeEnvironment, queued: Attempt
    ) -> None:
        """Settle the unit queued behind ``ended``: running in its place, or back to RUNNABLE
        with no attempt counted when it never started (its worker process is gone); one
        terminated while queued stays FAILED, and is killed if it started anyway."""
        started = ended.successor is queued
        if unit.status in TERMINAL:
            if started:
                queued.kill()
        elif started:
            self._run(unit, environment, queued)
        else:
            unit.execution = None
            self._make_runnable(unit)

    def _withdraw(self, unit: Unit, reason: str) -> None:
        """Terminate a STARTING unit: it fails now and its worker process skips it."""
        unit.execution.withdraw()
        unit.execution = None
        self._end(unit, "FAILED", reason)

    def _expire(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, unit, attempt = heapq.heappop(self._deadlines)
            if unit.execution is not None and len(unit.attempts) + 1 == attempt:
                self._kill(unit, TIMEOUT_REASON)

    def _kill(self, unit: Unit, reason: str) -> None:
        execution = unit.execution
        execution.kill()
        outcome = Outcome(KILLED_EXIT_CODE, execution.started_at, now_ms())
        self._complete(execution, outcome, reason)

    def _complete(
        self, execution: Attempt, outcome: Outcome, kill_reason: str | None = None
    ) -> None:
        unit, environment, fd = self._running.pop(execution)
        self._selector.unregister(fd)
        unit.execution = None
        environment.release(unit.job.spec.vcpus)
        self._settle_attempt(unit, outcome, kill_reason, execution.instance)
        if (queued := self._queued.pop(execution, None)) is not None:
            self._follow(execution, *queued)

    def _settle_attempt(
        self, unit: Unit, outcome: Outcome, kill_reason: str | None, instance: str
    ) -> None:
        """Record an ended attempt and move the unit on: done, retried or failed."""
        spec = unit.job.spec
        if kill_reason is not None:
            reason = kill_reason
        elif outcome.host_lost:
            reason = host_terminated_reason(instance)
        else:
            reason = EXITED_REASON
        container = dict(unit.container)
        if outcome.exit_code is not None:
            container["exitCode"] = outcome.exit_code
        if outcome.exit_code and kill_reason is None and (said := worker_reason(outcome.lines)):
            container["reason"] = said
        unit.container = container
        unit.attempts.append(
            {
                "container": container,
                "startedAt": outcome.started_at,
                "stoppedAt": outcome.stopped_at,
                "statusReason": reason,
            }
        )
        unit.started_at = outcome.started_at
        if "logStreamName" in container:
            self._logs.append(
                StreamLog(
                    spec.log_group, container["logStreamName"], outcome.started_at, outcome.lines
                )
            )
        if outcome.exit_code == 0 and kill_reason is None:
            self._end(unit, "SUCCEEDED", reason, outcome.stopped_at)
        elif kill_reason is None and should_retry(
            spec.attempts,
            spec.evaluate_on_exit,
            len(unit.attempts),
            outcome.exit_code,
            container.get("reason"),
            reason,
        ):
            unit.reason = reason
            self._make_runnable(unit)
        else:
            self._end(unit, "FAILED", reason, outcome.stopped_at)

    # -- endings -------------------------------------------------------------------------

    def _end(self, unit: Unit, status: str, reason: str, stopped_at: int | None = None) -> None:
        """Make ``unit`` terminal and settle everything downstream of it."""
        stack = [(unit, status, reason, stopped_at)]
        while stack:
            unit, status, reason, stopped_at = stack.pop()
            if unit.status in TERMINAL:
                continue
            unit.status, unit.reason = status, reason
            unit.stopped_at = stopped_at or now_ms()
            self._touch(unit)
            job = unit.job
            job.remaining -= 1
            job.failed |= status == "FAILED"
            for dependent in unit.dependents:
                self._settle_dependent(dependent, status == "SUCCEEDED", stack)
            if job.remaining == 0:
                self._close(job)
                for dependent_job in job.dependents:
                    for dependent in dependent_job.units:
                        self._settle_dependent(dependent, not job.failed, stack)

    def _settle_dependent(self, unit: Unit, succeeded: bool, stack: list) -> None:
        if unit.status in TERMINAL:
            return
        if not succeeded:
            stack.append((unit, "FAILED", DEPENDENT_FAILED_REASON, None))
            return
        unit.waiting -= 1
        if unit.waiting == 0 and unit.status == "PENDING":
            self._make_runnable(unit)

    def _close(self, job: Job) -> None:
        job.status = "FAILED" if job.failed else "SUCCEEDED"
        stops = [unit.stopped_at for unit in job.units if unit.stopped_at is not None]
        job.stopped_at = max(stops, default=None) or now_ms()
        self._dirty_jobs.add(job)
        self._ended.append(job)
        self._live -= 1

    # -- persistence ---------------------------------------------------------------------

    def _flush(self) -> None:
        batch = Batch(handled_requests=self._handled, logs=self._logs)
        for job in self._dirty_jobs:
            source = job if job.is_array else job.units[0]
            attempts = "[]" if job.is_array else json.dumps(source.attempts)
            container = "{}" if job.is_array else json.dumps(source.container)
            status = job.status if job.is_array else source.status
            batch.jobs.append(
                (
                    status,
                    source.reason,
                    source.started_at,
                    source.stopped_at,
                    attempts,
                    container,
                    job.job_id,
                )
            )
        batch.children = [
            (
                u.status,
                u.reason,
                u.started_at,
                u.stopped_at,
                json.dumps(u.attempts),
                json.dumps(u.container),
                u.job.job_id,
                u.index,
            )
            for u in self._dirty_units
        ]
        self._dirty_jobs, self._dirty_units = set(), set()
        self._handled, self._logs = [], []
        if batch:
            number = self._journal.submit(batch)
            for job in self._ended:
                job.final_batch = number
            self._ended = []
        self._evict()

    def _evict(self) -> None:
        """Forget ended jobs once their final state is on disk."""
        written = self._journal.written
        for job_id in [
            job_id
            for job_id, job in self._jobs.items()
            if job.final_batch is not None and job.final_batch <= written
        ]:
            del self._jobs[job_id]

    def _shutdown(self) -> None:
        try:
            if self._pool is not None:
                for execution in list(self._running):
                    execution.kill()
                    self._complete(
                        execution, Outcome(None, execution.started_at, now_ms(), host_lost=True)
                    )
                self._pool.close()
            if self._journal is not None:
                self._flush()
                self._journal.close()
        finally:
            if self._selector is not None:
                self._selector.close()
            if self._doorbell is not None:
                self._doorbell.close()
            if self._db is not None:
                self._db.close()
