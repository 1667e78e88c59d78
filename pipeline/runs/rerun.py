"""Rerun the indices of a run whose results never reached the egress bucket.

The rerun is a new execution of the same state machine with the same input plus
``rerun_of = {"workflow_id": W, "indices": [...]}``: its jobs have one child per missing
index, child k works on node ``indices[k]`` of W (the prepare Lambda writes the index map
on EFS) and egresses under W, so W's results become complete. W is always the root
workflow: rerunning a rerun reruns what its root still misses. Data and skew are seeded
by W and the node index, as in the original; injected failures by the rerun's own
workflow id, so a rerun does not replay the original's failures.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from pipeline.errors import N2NError
from pipeline.runs.progress import StepBars
from pipeline.runs.results import result_keys
from pipeline.runs.start import execution_outputs
from pipeline.runs.state import RunState, run_state
from pipeline.runs.wait import wait_for, wait_for_run
from pipeline.spec import RUN_KEYS, RerunOf, parse_run_input

PREPARED_WAIT_S = 300.0


class RerunError(N2NError):
    """A run that cannot be rerun as asked."""


class NothingToRerun(RerunError):
    """Every index of the run has its result: there is nothing to rerun."""


@dataclass(frozen=True)
class RerunPlan:
    """What a rerun of an execution would run."""

    source_arn: str
    state_machine_arn: str
    workflow_id: str
    array_size: int
    missing: tuple[int, ...]
    run_input: dict[str, Any]


def missing_indices(conn: Any, bucket: str, workflow_id: str, array_size: int) -> list[int]:
    """The indices of ``workflow_id`` with no ``results/{index:05d}.json`` in ``bucket``."""
    present = set()
    for key in result_keys(conn, bucket, workflow_id):
        stem = key.rpartition("/")[2].removesuffix(".json")
        if stem.isdigit():
            present.add(int(stem))
    return [index for index in range(array_size) if index not in present]


def plan_rerun(conn: Any, bucket: str, arn: str) -> RerunPlan:
    """The rerun of ``arn``: its root workflow's indices missing from ``bucket``.

    Raises :class:`NothingToRerun` when none is missing, :class:`RerunError` when the
    execution still runs or never prepared its nodes.
    """
    state = run_state(conn, arn)
    if not state.ended:
        raise RerunError(
            f"Execution {state.name or arn} is still {state.status}: wait for it to end or "
            "stop it with `n2n stop` before rerunning it."
        )
    prepared = state.prepared
    if prepared is None:
        raise RerunError(
            f"Execution {state.name or arn} ended {state.status} before preparing its nodes "
            f"({state.cause or state.error or 'no cause given'}): start a new run instead."
        )
    workflow_id = prepared.get("rerun_of") or prepared["workflow_id"]
    spec = parse_run_input(
        {key: prepared[key] for key in RUN_KEYS if key in prepared and key != "rerun_of"}
    )
    missing = missing_indices(conn, bucket, workflow_id, spec.array_size)
    if not missing:
        raise NothingToRerun(
            f"Workflow {workflow_id} has all {spec.array_size} results in {bucket}: "
            "nothing to rerun."
        )
    run_input = spec.to_input() | {"rerun_of": RerunOf(workflow_id, tuple(missing)).to_dict()}
    return RerunPlan(
        arn, state.state_machine_arn, workflow_id, spec.array_size, tuple(missing), run_input
    )


def _prepared_or_failed(conn: Any, arn: str, timeout_s: float) -> None:
    """Wait until the rerun's prepare step is done; its failure (the original's nodes are
    gone from EFS, say) becomes one sentence."""
    state = wait_for(
        lambda: run_state(conn, arn),
        lambda seen: seen.workflow_id is not None or seen.ended,
        timeout_s=timeout_s,
    )
    if state.workflow_id is None and state.ended:
        raise RerunError(
            f"The rerun {state.name} ended {state.status}: {state.cause or state.error}"
        )


def start_rerun(
    conn: Any, plan: RerunPlan, name: str | None = None, prepared_wait_s: float = PREPARED_WAIT_S
) -> str:
    """Start the planned rerun; return its ARN once its prepare step succeeded."""
    params = {"stateMachineArn": plan.state_machine_arn, "input": json.dumps(plan.run_input)}
    if name:
        params["name"] = name
    arn = conn.sfn.start_execution(**params)["executionArn"]
    _prepared_or_failed(conn, arn, prepared_wait_s)
    return arn


def rerun_missing(conn: Any, arn: str, name: str | None = None) -> tuple[RerunPlan, str]:
    """Rerun what execution ``arn`` left missing in its stack's egress bucket: the plan and
    the new execution's ARN (what ``n2n rerun`` and the run notebook call)."""
    plan = plan_rerun(conn, execution_outputs(conn, arn)["EgressBucketName"], arn)
    return plan, start_rerun(conn, plan, name)


def recover_missing(conn: Any, arn: str, bars: StepBars | None = None) -> RunState | None:
    """Rerun what execution ``arn`` left missing and wait for it (with ``bars``); None when
    every index already has its egress object."""
    with bars or nullcontext():
        try:
            _, rerun_arn = rerun_missing(conn, arn)
        except NothingToRerun:
            return None
        return wait_for_run(conn, rerun_arn, bars)
