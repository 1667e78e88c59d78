"""``n2n analyze``: one execution's timeline, metrics and figures, written to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.analysis.export import headline, write_analysis
from pipeline.analysis.timeline import build_timeline
from pipeline.cli import options


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_backend_options(parser)
    options.add_execution_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")


def run(args: argparse.Namespace) -> int:
    conn = options.connect_from(args)
    timeline = build_timeline(conn, options.execution_from(args, conn))
    written = write_analysis(timeline, args.out)
    print(f"Execution {timeline.attrs['execution_arn']} ({timeline.attrs['status']})")
    for line in headline(written["metrics"]):
        print(f"  {line}")
    print(f"Wrote {len(written['paths'])} files to {args.out}")
    return 0
