"""The engine's journal on a full disk: a batch SQLite refuses for lack of space is written
once there is space again, in order, and nothing is lost or reported as an error."""

from __future__ import annotations

import json
import sqlite3

from pipeline.local.batch import journal as journal_module
from pipeline.local.batch.journal import Batch, Journal
from pipeline.local.batch.schema import open_batch_db
from tests.local.batch.support import add_queue, local_batch, register, shell
from tests.waiting import wait_until


def test_a_batch_refused_by_a_full_disk_is_written_once_there_is_space(
    n2n_home, monkeypatch, capfd
):
    batch = local_batch(n2n_home, monkeypatch)
    add_queue(batch, "q")
    register(batch, "d", shell("pass"))
    job_id = batch.submit_job(jobName="a", jobQueue="q", jobDefinition="d")["jobId"]
    opened: list[sqlite3.Connection] = []

    def full_db(home):
        """The journal's connection, on a database that may not grow: SQLite answers
        SQLITE_FULL ("database or disk is full") as it does on a full disk."""
        connection = open_batch_db(home)
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")
        opened.append(connection)
        return connection

    monkeypatch.setattr(journal_module, "open_batch_db", full_db)
    journal = Journal(n2n_home)
    attempts = json.dumps([{"statusReason": "x" * 200_000}])
    journal.submit(Batch(jobs=[("FAILED", "why", 1, 2, attempts, "{}", job_id)]))
    journal.submit(Batch(jobs=[("FAILED", "last", 1, 2, attempts, "{}", job_id)]))
    seen = wait_until(
        lambda: "cannot write Batch job states" in (err := capfd.readouterr().err) and err
    )
    assert "database or disk is full" in seen
    assert journal.written == 0  # the first batch waits for space, the second behind it
    opened[0].execute("PRAGMA max_page_count = 1073741823")
    wait_until(lambda: journal.written == 2, describe=lambda: journal.written)
    journal.close()  # raises if a batch was given up
    row = open_batch_db(n2n_home).execute(
        "SELECT status, status_reason, attempts FROM jobs WHERE job_id = ?", (job_id,)
    )
    assert tuple(row.fetchone()) == ("FAILED", "last", attempts)
