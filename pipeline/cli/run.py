"""``n2n run``: start an execution of the stack's state machine, optionally wait for it."""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.cli import options
from pipeline.errors import InvalidRunInput
from pipeline.runs import start_run, step_progress, wait_for_run, wait_for_workflow
from pipeline.runs.progress import StepBars
from pipeline.spec import parse_run_input


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_backend_options(parser)
    parser.add_argument("--ids", type=int, default=20_000, help="id_count (default 20000)")
    parser.add_argument("--ids-per-node", type=int, default=40, help="ids per array node")
    parser.add_argument("--work", default="{}", help="work knobs as JSON, e.g. '{\"skew\": 1}'")
    parser.add_argument("--dependency", choices=("N_TO_N", "BARRIER"), default="N_TO_N")
    parser.add_argument("--name", help="execution name (default: a new UUID)")
    parser.add_argument("--wait", action="store_true", help="wait, with a progress bar per step")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")


def run(args: argparse.Namespace) -> int:
    try:
        work = json.loads(args.work)
    except ValueError:
        raise InvalidRunInput(f"--work must be a JSON object, not {args.work!r}.") from None
    spec = parse_run_input(
        {
            "id_count": args.ids,
            "ids_per_node": args.ids_per_node,
            "work": work,
            "dependency": args.dependency,
        }
    )
    conn = options.connect_from(args)
    arn = start_run(conn, args.stack, spec, args.name)
    print(f"Started {arn}", file=sys.stderr if args.json else sys.stdout)
    if args.wait:
        with StepBars() as bars:
            state = wait_for_run(conn, arn, bars)
    else:
        state = wait_for_workflow(conn, arn)
    progress = step_progress(conn, state.jobs)
    if args.json:
        print(
            json.dumps(
                {
                    "executionArn": arn,
                    "status": state.status,
                    "workflowId": state.workflow_id,
                    "arraySize": spec.array_size,
                    "steps": progress,
                    "error": state.error,
                    "cause": state.cause,
                }
            )
        )
    else:
        print(f"Status: {state.status}" + (f" ({state.cause})" if state.cause else ""))
    return 0 if state.status in ("SUCCEEDED", "RUNNING") else 1
