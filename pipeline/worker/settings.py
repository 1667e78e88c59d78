"""The worker's settings, read from the environment the job definition and the submit set."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InvalidRunInput, WorkerError
from pipeline.layout import RunLayout
from pipeline.spec import Work, parse_work


@dataclass(frozen=True)
class WorkerSettings:
    """Everything one child needs to run one step."""

    layout: RunLayout
    index: int
    attempt: int
    egress_url: str
    work: Work

    @property
    def workflow_id(self) -> str:
        """The workflow this child belongs to."""
        return self.layout.workflow_id


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "")
    if not value:
        raise WorkerError(f"{name} is not set: the job definition or submit must set it.")
    return value


def _whole(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise WorkerError(f"{name} must be a whole number, not {value!r}.") from None


def read_settings(environ: Mapping[str, str]) -> WorkerSettings:
    """Parse the worker's environment; raise WorkerError saying what to set."""
    try:
        work = parse_work(json.loads(environ.get("N2N_WORK") or "{}"))
    except (ValueError, InvalidRunInput) as error:
        raise WorkerError(f"N2N_WORK is not valid: {error}") from None
    return WorkerSettings(
        layout=RunLayout(Path(_required(environ, "EFS_MOUNT")), _required(environ, "WORKFLOW_ID")),
        index=_whole(environ, "AWS_BATCH_JOB_ARRAY_INDEX", 0),
        attempt=_whole(environ, "AWS_BATCH_JOB_ATTEMPT", 1),
        egress_url=environ.get("EGRESS_URL", ""),
        work=work,
    )
