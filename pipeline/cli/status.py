"""``n2n status``: one execution's status and per-step children counts."""

from __future__ import annotations

import argparse
import json

from pipeline.cli import options
from pipeline.runs import run_state, step_progress
from pipeline.runs.schedule import stack_schedule
from pipeline.runs.start import execution_stack


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_backend_options(parser)
    options.add_execution_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    conn = options.connect_from(args)
    arn = options.execution_from(args, conn)
    state = run_state(conn, arn)
    progress = step_progress(conn, state.jobs)
    schedule = stack_schedule(conn, execution_stack(conn, arn)["StackName"])
    if args.json:
        document = {
            "executionArn": arn,
            "status": state.status,
            "workflowId": state.workflow_id,
            "steps": progress,
            "error": state.error,
            "cause": state.cause,
            "schedule": schedule.document() if schedule else None,
        }
        print(json.dumps(document))
        return 0
    print(f"Execution: {arn}")
    print(f"Status:    {state.status}")
    if state.workflow_id:
        print(f"Workflow:  {state.workflow_id}")
    for step, counts in progress.items():
        print(
            f"  {step:<8} {counts['succeeded']:>6} succeeded  {counts['failed']:>6} failed"
            f"  of {counts['total']}"
        )
    if state.cause:
        print(f"Cause:     {state.cause}")
    if schedule:
        print(f"Schedule:  {schedule.describe()}")
    return 0
