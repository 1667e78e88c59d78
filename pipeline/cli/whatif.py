"""``n2n whatif``: an execution's modelled makespan and cost under other MaxVcpus."""

from __future__ import annotations

import argparse
import json

from pipeline.analysis.model import model_error, parse_vcpus, what_if
from pipeline.analysis.timeline import build_timeline
from pipeline.cli import options


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_backend_options(parser)
    options.add_execution_options(parser)
    parser.add_argument(
        "--vcpus", default="2,4,8,16", help="MaxVcpus per step to try (default 2,4,8,16)"
    )
    parser.add_argument("--json", action="store_true", help="print the table as JSON records")


def run(args: argparse.Namespace) -> int:
    vcpus = parse_vcpus(args.vcpus)
    conn = options.connect_from(args)
    arn = options.execution_from(args, conn)
    table = what_if(build_timeline(conn, arn), vcpus)
    if args.json:
        print(json.dumps(table.to_dict(orient="records")))
        return 0
    print(f"Execution {arn}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    calibration = table.attrs["calibration"]
    slots = ", ".join(f"{step} {count}" for step, count in calibration["slots"].items())
    print(f"Measured slots per step: {slots} ({calibration['slots_source']})")
    print(f"Model error at the measured slots: {model_error(table):+.1%}")
    return 0
