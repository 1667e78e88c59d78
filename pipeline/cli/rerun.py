"""``n2n rerun``: rerun the indices of an execution whose results are missing."""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.cli import options
from pipeline.runs import run_state
from pipeline.runs.rerun import NothingToRerun, rerun_missing
from pipeline.runs.watch import watch_with_bars


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_backend_options(parser)
    options.add_execution_options(parser)
    parser.add_argument("--name", help="the rerun's execution name (default: a new UUID)")
    parser.add_argument("--wait", action="store_true", help="wait, with a progress bar per step")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")


def run(args: argparse.Namespace) -> int:
    conn = options.connect_from(args)
    source = options.execution_from(args, conn)
    out = sys.stderr if args.json else sys.stdout
    try:
        plan, arn = rerun_missing(conn, source, args.name)
    except NothingToRerun as nothing:
        print(str(nothing), file=out)
        if args.json:
            print(json.dumps({"executionArn": None, "missing": []}))
        return 0
    print(
        f"Rerunning {len(plan.missing)} of {plan.array_size} indices of workflow "
        f"{plan.workflow_id}: {arn}",
        file=out,
    )
    state = watch_with_bars(conn, arn, disable=args.json) if args.wait else run_state(conn, arn)
    if args.json:
        document = {
            "executionArn": arn,
            "status": state.status,
            "workflowId": plan.workflow_id,
            "missing": list(plan.missing),
            "cause": state.cause,
        }
        print(json.dumps(document))
    else:
        print(f"Status: {state.status}" + (f" ({state.cause})" if state.cause else ""))
    return 0 if state.status in ("SUCCEEDED", "RUNNING") else 1
