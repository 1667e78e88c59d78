"""``n2n analyze``: one execution's timeline, metrics and figures, written to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.analysis.export import headline, write_analysis
from pipeline.analysis.timeline import build_timeline
from pipeline.cli import Command, register
from pipeline.commands.options import (
    add_backend_options,
    add_execution_options,
    connect_from,
    execution_from,
)


def configure(parser: argparse.ArgumentParser) -> None:
    add_backend_options(parser)
    add_execution_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")


def run(args: argparse.Namespace) -> int:
    conn = connect_from(args)
    timeline = build_timeline(conn, execution_from(args, conn))
    written = write_analysis(timeline, args.out)
    print(f"Execution {timeline.attrs['execution_arn']} ({timeline.attrs['status']})")
    for line in headline(written["metrics"]):
        print(f"  {line}")
    print(f"Wrote {len(written['paths'])} files to {args.out}")
    return 0


register(Command("analyze", "Write an execution's timeline, metrics and figures.", configure, run))
