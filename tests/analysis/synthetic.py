"""Synthetic timelines of the contract's shape, scheduled by the model (no dispatch latency).

For tests, benchmarks and demos of the analysis at any size without running anything.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from pipeline.analysis.model import Schedule, replay
from pipeline.jobs import STEPS

RUN_START = pd.Timestamp("2024-01-01T00:00:00Z").as_unit("ns")
MEDIAN_RUN_S = (20.0, 40.0, 15.0)
"""Median child run time of each step, cycled when there are more steps than values."""
RESOURCES = {"vcpus": 1.0, "memory_mib": 2048.0}

# Which later indices a failed or blocked index blocks, by dependency mode.
_BLOCKED = {
    "N_TO_N": lambda lost: lost,
    "BARRIER": lambda lost: np.full_like(lost, lost.any()),
}


def _step_names(steps: int) -> list[str]:
    return [STEPS[k] if k < len(STEPS) else f"step{k + 1}" for k in range(steps)]


def synthetic_timeline(
    indices: int,
    steps: int = 3,
    dependency: str = "N_TO_N",
    *,
    slots: int | None = None,
    failure_rate: float = 0.0,
    seed: int = 0,
) -> pd.DataFrame:
    """A finished run of ``indices`` x ``steps`` children with log-normal run times.

    ``slots`` per step default to a twentieth of the indices (at least 1). A share
    ``failure_rate`` of children fail after running (3 attempts); the children that depend
    on them never start and fail as AWS Batch fails them.
    """
    rng = np.random.default_rng(seed)
    names = _step_names(steps)
    slots = slots or max(1, indices // 20)
    run_s = {
        step: rng.lognormal(np.log(MEDIAN_RUN_S[k % len(MEDIAN_RUN_S)]), 0.5, indices)
        for k, step in enumerate(names)
    }
    failed = {step: rng.random(indices) < failure_rate for step in names}
    block = _BLOCKED.get(dependency, _BLOCKED["N_TO_N"])  # replay() rejects unknown modes
    blocked = {names[0]: np.zeros(indices, dtype=bool)}
    for before, step in itertools.pairwise(names):
        blocked[step] = block(blocked[before] | failed[before])
    for step in names:
        run_s[step][blocked[step]] = 0.0
    schedule = replay(run_s, dict.fromkeys(names, slots), dependency)
    frames = [
        _step_frame(step, order, schedule, failed[step], blocked[step])
        for order, step in enumerate(names, start=1)
    ]
    timeline = pd.concat(frames, ignore_index=True)
    timeline.attrs = {
        "execution_name": f"synthetic-{indices}x{steps}-{dependency.lower()}",
        "input": {
            "id_count": indices * 40,
            "ids_per_node": 40,
            "work": {},
            "dependency": dependency,
        },
        "resources": {step: dict(RESOURCES) for step in names},
    }
    return timeline


def _step_frame(
    step: str, order: int, schedule: Schedule, failed: np.ndarray, blocked: np.ndarray
) -> pd.DataFrame:
    """One step's rows; every child was created at the run's start, as the state machine
    submits the three array jobs back to back."""
    size = blocked.size
    succeeded = ~(failed | blocked)
    created = RUN_START + pd.to_timedelta(np.zeros(size), unit="s")
    started = RUN_START + pd.to_timedelta(np.where(blocked, np.nan, schedule.start_s[step]), "s")
    stopped = RUN_START + pd.to_timedelta(np.where(blocked, np.nan, schedule.stop_s[step]), "s")
    ran = (stopped - started).total_seconds()
    parent = f"synthetic-{step}"
    return pd.DataFrame(
        {
            "step": step,
            "step_order": order,
            "job_id": [f"{parent}:{index}" for index in range(size)],
            "parent_job_id": parent,
            "array_index": np.arange(size),
            "status": np.where(succeeded, "SUCCEEDED", "FAILED"),
            "attempts": np.select([blocked, failed], [0, 3], 1),
            "exit_code": np.select([blocked, failed], [np.nan, 1.0], 0.0),
            "status_reason": np.select(
                [blocked, failed],
                ["Dependent Job failed", "Essential container in task exited"],
                "",
            ),
            "created_at": created,
            "started_at": started,
            "stopped_at": stopped,
            "queue_s": (started - created).total_seconds(),
            "run_s": ran,
            "records": np.where(succeeded, 40.0, np.nan),
            "load_s": ran * 0.2,
            "compute_s": ran * 0.7,
            "write_s": ran * 0.1,
        }
    )
