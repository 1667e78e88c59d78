"""``n2n watch``: one live progress bar per step until the execution ends."""

from __future__ import annotations

import argparse

from pipeline.cli import options
from pipeline.runs.watch import INTERVAL_S, watch_with_bars


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_backend_options(parser)
    options.add_execution_options(parser)
    parser.add_argument(
        "--interval", type=float, default=INTERVAL_S, help="seconds between refreshes (>= 1)"
    )


def run(args: argparse.Namespace) -> int:
    conn = options.connect_from(args)
    arn = options.execution_from(args, conn)
    state = watch_with_bars(conn, arn, max(args.interval, INTERVAL_S))
    print(f"Status: {state.status}" + (f" ({state.cause})" if state.cause else ""))
    return 0 if state.status == "SUCCEEDED" else 1
