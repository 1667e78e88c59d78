"""Stop a run: its execution and its three Batch jobs.

Step Functions does not cancel jobs it submitted without ``.sync``, so stopping the
execution alone leaves every child running and billed on AWS. ``stop_run`` stops the
execution first (nothing more gets submitted), then terminates each unfinished parent job
(Batch cancels or terminates every child of an array parent) and reports how many
children that ended, from the parents' status summaries before and after. A second call
finds nothing unfinished and does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.jobs import FINISHED, step_counts
from pipeline.runs.state import parent_jobs, run_state
from pipeline.runs.wait import wait_for

REASON = "Stopped by n2n stop."
SETTLE_S = 60.0


@dataclass
class StopReport:
    """What ``stop_run`` did: whether it stopped the execution, per step the children
    that had not finished before and after, and how many children it ended."""

    execution_arn: str
    status_before: str
    execution_stopped: bool
    unfinished_before: dict[str, int] = field(default_factory=dict)
    unfinished_after: dict[str, int] = field(default_factory=dict)

    @property
    def cancelled(self) -> int:
        """Children the stop cancelled or terminated."""
        return sum(self.unfinished_before.values()) - sum(self.unfinished_after.values())


def _unfinished(conn: Any, jobs: dict[str, str]) -> tuple[dict[str, int], set[str]]:
    """Per step, children neither succeeded nor failed; and the parents not yet finished."""
    parents = parent_jobs(conn, jobs)
    counts = {step: step_counts(job) for step, job in parents.items()}
    unfinished = {step: c["total"] - c["succeeded"] - c["failed"] for step, c in counts.items()}
    return unfinished, {job["jobId"] for job in parents.values() if job["status"] not in FINISHED}


def stop_run(conn: Any, arn: str, reason: str = REASON, settle_s: float = SETTLE_S) -> StopReport:
    """Stop execution ``arn`` and terminate its unfinished Batch jobs (parents, and so all
    their children); wait up to ``settle_s`` for Batch to report them finished."""
    state = run_state(conn, arn)
    report = StopReport(arn, state.status, execution_stopped=state.status == "RUNNING")
    report.unfinished_before, open_parents = _unfinished(conn, state.jobs)
    if report.execution_stopped:
        conn.sfn.stop_execution(executionArn=arn, error="n2n.Stopped", cause=reason)
        state = run_state(conn, arn)
        late = {
            step: job for step, job in state.jobs.items() if step not in report.unfinished_before
        }
        counts, late_open = _unfinished(conn, late)
        report.unfinished_before.update(counts)
        open_parents |= late_open
    for job_id in sorted(open_parents):
        conn.batch.terminate_job(jobId=job_id, reason=reason)
    unfinished, _ = wait_for(
        lambda: _unfinished(conn, state.jobs), lambda seen: not seen[1], timeout_s=settle_s
    )
    report.unfinished_after = unfinished
    return report
