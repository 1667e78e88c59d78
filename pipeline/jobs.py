"""A run's three Batch parent jobs as the watch Lambda and the user side both read them:
the steps in order, the job statuses that no longer change, and a parent's children
counted by status (runtime code: standard library only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STEPS = ("procure", "process", "egress")
FINISHED = frozenset({"SUCCEEDED", "FAILED"})
"""Batch job statuses after which a job never changes."""


def children_by_status(job: Mapping[str, Any]) -> dict[str, int]:
    """The parent job's children per status (a ``describe_jobs`` item): an array job's
    ``statusSummary``, or the job itself as its one child (a one-node run is a plain job)."""
    summary = job.get("arrayProperties", {}).get("statusSummary")
    return dict(summary) if summary is not None else {job["status"]: 1}


def step_counts(job: Mapping[str, Any]) -> dict[str, int]:
    """The parent job's children: ``total``, ``succeeded``, ``failed``."""
    by_status = children_by_status(job)
    total = job.get("arrayProperties", {}).get("size") or 1
    return {
        "total": total,
        "succeeded": by_status.get("SUCCEEDED", 0),
        "failed": by_status.get("FAILED", 0),
    }
