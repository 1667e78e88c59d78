"""``n2n stop``: stop an execution and terminate its Batch jobs."""

from __future__ import annotations

import argparse
import json

from pipeline.cli import options
from pipeline.runs.stop import REASON, stop_run


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_backend_options(parser)
    options.add_execution_options(parser)
    parser.add_argument("--reason", default=REASON, help="why (recorded on the jobs)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    conn = options.connect_from(args)
    arn = options.execution_from(args, conn)
    report = stop_run(conn, arn, args.reason)
    if args.json:
        document = {
            "executionArn": arn,
            "statusBefore": report.status_before,
            "executionStopped": report.execution_stopped,
            "cancelled": report.cancelled,
            "unfinishedBefore": report.unfinished_before,
            "unfinishedAfter": report.unfinished_after,
        }
        print(json.dumps(document))
        return 0
    what = (
        "Stopped" if report.execution_stopped else f"Execution was already {report.status_before};"
    )
    print(f"{what} {arn}")
    print(f"Cancelled or terminated {report.cancelled} unfinished children.")
    for step, left in report.unfinished_after.items():
        if left:
            print(f"  {step:<8} {left} children still ending (Batch is terminating them)")
    return 0
