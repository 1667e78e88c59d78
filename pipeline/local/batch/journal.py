"""The engine's write-behind journal: state transitions and log events, written to SQLite
in batched transactions on a background thread so dispatch never waits on the disk.

A batch that meets a full disk is written again until there is space (the jobs go on in
memory meanwhile): the Batch engine stands in for a service that never loses its jobs'
states, so a full disk under ``N2N_HOME`` delays what readers see but ends no job."""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.local.batch.schema import open_batch_db
from pipeline.local.logs.models import StreamLog, append_streams, open_logs_db
from pipeline.local.runner import log

FULL_RETRY_FIRST_S = 0.05
FULL_RETRY_MAX_S = 2.0

JOB_UPDATE = (
    "UPDATE jobs SET status = ?, status_reason = ?, started_at = ?, stopped_at = ?,"
    " attempts = ?, container = ? WHERE job_id = ?"
)
CHILD_UPDATE = (
    "UPDATE children SET status = ?, status_reason = ?, started_at = ?, stopped_at = ?,"
    " attempts = ?, container = ? WHERE parent_id = ? AND idx = ?"
)

Row = tuple[str, str | None, int | None, int | None, str, str]
"""status, status_reason, started_at, stopped_at, attempts JSON, container JSON."""


@dataclass
class Batch:
    """What one flush writes."""

    jobs: list[tuple[*Row, str]] = field(default_factory=list)
    children: list[tuple[*Row, str, int]] = field(default_factory=list)
    handled_requests: list[int] = field(default_factory=list)
    logs: list[StreamLog] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.jobs or self.children or self.handled_requests or self.logs)


class Journal:
    """Writes batches in order on one background thread; ``written`` counts those done."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.submitted = 0
        self.written = 0
        self._queue: queue.SimpleQueue[Batch | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._write, name="batch-journal", daemon=True)
        self._thread.start()

    def submit(self, batch: Batch) -> int:
        """Queue ``batch``; return its number (compare with ``written``)."""
        if self._error is not None:
            raise self._error
        self.submitted += 1
        self._queue.put(batch)
        return self.submitted

    @property
    def pending(self) -> bool:
        """Whether some submitted batch is not written yet."""
        return self.written < self.submitted

    def close(self) -> None:
        """Write what is queued, then stop the thread (giving up on a batch that waits for
        disk space)."""
        self._closing.set()
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _write(self) -> None:
        jobs = open_batch_db(self.home)
        logs = open_logs_db(self.home)
        try:
            while (batch := self._queue.get()) is not None:
                try:
                    self._write_when_there_is_space(jobs, logs, batch)
                except BaseException as error:  # surfaced to the engine on its next submit
                    self._error = error
                self.written += 1
        finally:
            jobs.close()
            logs.close()

    def _write_when_there_is_space(
        self, jobs: sqlite3.Connection, logs: sqlite3.Connection, batch: Batch
    ) -> None:
        """Write ``batch``, again and again while the disk is full (every statement in it
        can be repeated: updates to given values, deletes, and the log append, whose
        transaction rolled back)."""
        delay = FULL_RETRY_FIRST_S
        while True:
            try:
                with jobs:
                    jobs.executemany(JOB_UPDATE, batch.jobs)
                    jobs.executemany(CHILD_UPDATE, batch.children)
                    jobs.executemany(
                        "DELETE FROM requests WHERE id = ?",
                        [(i,) for i in batch.handled_requests],
                    )
                append_streams(logs, batch.logs)
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorname != "SQLITE_FULL" or self._closing.is_set():
                    raise
                if delay == FULL_RETRY_FIRST_S:
                    log(f"cannot write Batch job states in {self.home} ({error}): retrying")
                time.sleep(delay)
                delay = min(delay * 2, FULL_RETRY_MAX_S)
