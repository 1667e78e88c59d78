"""``n2n analyze``: one execution's timeline, metrics and figures, written to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.analysis.export import headline, write_analysis
from pipeline.analysis.timeline import build_timeline
from pipeline.cli import Command, register
from pipeline.commands.options import add_backend_options, connect_from
from pipeline.errors import N2NError


def configure(parser: argparse.ArgumentParser) -> None:
    add_backend_options(parser)
    parser.add_argument("execution_arn", nargs="?", help="the execution (or use --latest)")
    parser.add_argument("--latest", action="store_true", help="the stack's newest execution")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")


def run(args: argparse.Namespace) -> int:
    if bool(args.execution_arn) == bool(args.latest):
        raise N2NError("Name one execution: give its ARN or --latest.")
    timeline = build_timeline(connect_from(args), args.execution_arn, stack=args.stack)
    written = write_analysis(timeline, args.out)
    print(f"Execution {timeline.attrs['execution_arn']} ({timeline.attrs['status']})")
    for line in headline(written["metrics"]):
        print(f"  {line}")
    print(f"Wrote {len(written['paths'])} files to {args.out}")
    return 0


register(Command("analyze", "Write an execution's timeline, metrics and figures.", configure, run))
