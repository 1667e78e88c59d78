"""The prepare Lambda: validate the run input and lay out every array node's ids on EFS.

Event: ``{"execution_name": str (optional), "input": {execution input}}``; an event
without ``input`` is itself the execution input (beside an optional ``execution_name``).
Returns a small dict (never the ids: Step Functions payloads are capped at 256 KiB).

A rerun (``rerun_of`` in the input) writes no ids: it checks that the nodes it reruns are
still prepared under the original workflow and writes its index map in its own tree;
``rerun_of`` in the result names the original workflow ("" for an ordinary run).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pipeline.errors import InvalidRunInput
from pipeline.layout import RunLayout, atomic_write_json
from pipeline.spec import RerunOf, RunSpec, parse_run_input

SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
WRITE_THREADS = 32


def workflow_id_for(execution_name: str | None) -> str:
    """The workflow id: the execution name when usable, so a retried invocation rebuilds
    the same tree; otherwise a new UUID."""
    if not execution_name:
        return str(uuid.uuid4())
    if SAFE_NAME.match(execution_name):
        return execution_name
    return str(uuid.uuid5(uuid.NAMESPACE_URL, execution_name))


def _defaults(environ: Mapping[str, str]) -> dict[str, int]:
    names = {"id_count": "DEFAULT_ID_COUNT", "ids_per_node": "DEFAULT_IDS_PER_NODE"}
    return {key: int(environ[var]) for key, var in names.items() if environ.get(var)}


def write_node_ids(layout: RunLayout, spec: RunSpec) -> None:
    """Write every node's ``prep/ids.json`` (threaded: EFS is latency bound)."""

    def write(index: int) -> None:
        atomic_write_json(layout.ids_path(index), list(spec.node_ids(index)))

    with ThreadPoolExecutor(max_workers=min(WRITE_THREADS, spec.array_size)) as pool:
        list(pool.map(write, range(spec.array_size)))


def write_index_map(root: Path, rerun_id: str, rerun_of: RerunOf) -> None:
    """Check the rerun nodes are still prepared, then write the rerun's index map."""
    original = RunLayout(root, rerun_of.workflow_id)
    with ThreadPoolExecutor(max_workers=min(WRITE_THREADS, len(rerun_of.indices))) as pool:
        prepared = list(pool.map(lambda i: original.ids_path(i).is_file(), rerun_of.indices))
    if not all(prepared):
        lost = rerun_of.indices[prepared.index(False)]
        raise InvalidRunInput(
            f"The prepared ids of workflow {rerun_of.workflow_id} are gone from EFS (node "
            f"{lost} first): start a new run instead of a rerun."
        )
    atomic_write_json(RunLayout(root, rerun_id).index_map_path, list(rerun_of.indices))


def prepare(event: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Validate the input, write the node tree (or a rerun's index map) and describe the run
    for the state machine."""
    if "input" in event:
        raw = event["input"]
    else:
        raw = {key: value for key, value in event.items() if key != "execution_name"}
    spec = parse_run_input(raw, _defaults(environ))
    workflow_id = workflow_id_for(event.get("execution_name"))
    root = Path(environ["EFS_MOUNT"])
    if spec.rerun_of:
        write_index_map(root, workflow_id, spec.rerun_of)
    else:
        write_node_ids(RunLayout(root, workflow_id), spec)
    return {
        "workflow_id": workflow_id,
        "array_size": spec.job_size,
        "is_array": spec.job_size >= 2,
        "id_count": spec.id_count,
        "ids_per_node": spec.ids_per_node,
        "work": spec.work.to_dict(),
        "dependency": spec.dependency,
        "rerun_of": spec.rerun_of.workflow_id if spec.rerun_of else "",
    }


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point."""
    return prepare(event, os.environ)
