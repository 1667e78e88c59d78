"""Job dependencies as AWS Batch documents them.

- ``N_TO_N`` on an array job: child *i* waits for child *i* of the dependency;
- ``SEQUENTIAL`` without a job id: child *i* waits for child *i-1* of its own array;
- any other dependency: every unit waits for the whole dependency job to succeed.

An edge runs from the unit (or job) waited on to the waiting unit (or job); ``waiting``
counts a unit's unmet edges. A dependency that already ended is looked up once, here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from pipeline.local.batch.models import TERMINAL, Job, Unit

FinishedStatus = Callable[[str, int | None], str | None]
"""(job id, array index or None) → the status of a job no longer in memory."""


def _edge(source: Unit | None, status: str | None, target: Unit, failed: list[Unit]) -> None:
    if source is not None and source.status not in TERMINAL:
        source.dependents.append(target)
        target.waiting += 1
    elif (source.status if source is not None else status) != "SUCCEEDED":
        failed.append(target)


def _job_edge(source: Job | None, status: str | None, target: Job, failed: list[Unit]) -> None:
    if source is not None and source.status not in TERMINAL:
        source.dependents.append(target)
        for unit in target.units:
            unit.waiting += 1
    elif (source.status if source is not None else status) != "SUCCEEDED":
        failed.extend(target.units)


def wire(
    job: Job, depends_on: list[dict[str, Any]], jobs: dict[str, Job], finished: FinishedStatus
) -> list[Unit]:
    """Add ``job``'s dependency edges; return its units whose dependency already failed."""
    failed: list[Unit] = []
    for dependency in depends_on:
        kind, source_id = dependency.get("type"), dependency.get("jobId")
        if kind == "SEQUENTIAL" and source_id in (None, job.job_id) and job.is_array:
            for previous, unit in itertools.pairwise(job.units):
                _edge(previous, None, unit, failed)
            continue
        source = jobs.get(source_id)
        if kind == "N_TO_N" and job.is_array:
            for index, unit in enumerate(job.units):
                peer = source.units[index] if source is not None else None
                status = None if source is not None else finished(source_id, index)
                _edge(peer, status, unit, failed)
            continue
        status = None if source is not None else finished(source_id, None)
        _job_edge(source, status, job, failed)
    return failed
