"""The worker's settings, read from the environment the job definition and the submit set.

``WORKFLOW_ID`` names the execution's own workflow. A rerun also sets ``N2N_RERUN_OF`` to
the workflow it completes: child k then works on node ``index_map[k]`` of that workflow
(its data, seeds and egress key are the original's), while its log lines carry the rerun's
workflow id and array index k, so each execution's timeline reads its own children.
Injected failures are seeded by the execution's own workflow id, so a rerun does not
replay the original's failures.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InvalidRunInput, WorkerError
from pipeline.layout import RunLayout, read_json
from pipeline.spec import Work, parse_work


@dataclass(frozen=True)
class WorkerSettings:
    """Everything one child needs to run one step."""

    layout: RunLayout
    index: int
    attempt: int
    egress_url: str
    work: Work
    run_id: str
    array_index: int

    @property
    def workflow_id(self) -> str:
        """The workflow whose node this child works on (the original one for a rerun)."""
        return self.layout.workflow_id

    def event_fields(self) -> dict[str, object]:
        """The coordinates each log line carries: the execution's workflow and array index
        (plus the original workflow and index for a rerun)."""
        fields: dict[str, object] = {
            "workflow_id": self.run_id,
            "index": self.array_index,
            "attempt": self.attempt,
        }
        if self.run_id != self.workflow_id:
            fields.update(rerun_of=self.workflow_id, original_index=self.index)
        return fields


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
    root, run_id = Path(_required(environ, "EFS_MOUNT")), _required(environ, "WORKFLOW_ID")
    array_index = _whole(environ, "AWS_BATCH_JOB_ARRAY_INDEX", 0)
    rerun_of = environ.get("N2N_RERUN_OF", "")
    return WorkerSettings(
        layout=RunLayout(root, rerun_of or run_id),
        index=_original_index(RunLayout(root, run_id), array_index) if rerun_of else array_index,
        attempt=_whole(environ, "AWS_BATCH_JOB_ATTEMPT", 1),
        egress_url=environ.get("EGRESS_URL", ""),
        work=work,
        run_id=run_id,
        array_index=array_index,
    )


def _original_index(rerun: RunLayout, array_index: int) -> int:
    """Node ``index_map[array_index]`` of the workflow a rerun completes."""
    try:
        return int(read_json(rerun.index_map_path)[array_index])
    except FileNotFoundError:
        raise WorkerError(
            f"The index map {rerun.index_map_path} is missing: the rerun's prepare step writes it."
        ) from None
    except IndexError:
        raise WorkerError(
            f"Array index {array_index} is beyond the index map {rerun.index_map_path}."
        ) from None
