"""Runs of the pipeline through any backend's clients, as a user sees them: start one,
read its state, wait for it with progress bars, stop, rerun, watch, and read its results.

Only boto3-shaped calls: the same code serves the local backend and AWS. The names below
are the ones notebooks and commands use; each lives in the module named after it.
"""

from pipeline.jobs import STEPS
from pipeline.runs.start import (
    execution_outputs,
    latest_execution,
    stack_outputs,
    start_run,
    state_machine_arn,
)
from pipeline.runs.state import (
    TERMINAL,
    ExecutionNotFound,
    RunError,
    RunState,
    run_state,
    step_progress,
)
from pipeline.runs.wait import wait_for_run, wait_for_workflow

__all__ = [
    "STEPS",
    "TERMINAL",
    "ExecutionNotFound",
    "RunError",
    "RunState",
    "execution_outputs",
    "latest_execution",
    "run_state",
    "stack_outputs",
    "start_run",
    "state_machine_arn",
    "step_progress",
    "wait_for_run",
    "wait_for_workflow",
]
