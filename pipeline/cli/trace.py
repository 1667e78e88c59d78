"""``n2n trace export``: a run's data as one portable file, for ``n2n analyze --trace``."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.cli import options


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export",
        help="Write the responses an analysis of the run reads into one compressed file.",
        description="Write the responses an analysis of the run reads into one compressed file.",
    )
    options.add_backend_options(export)
    options.add_run_options(export)
    export.add_argument("--out", type=Path, required=True, help="the trace file to write")
    export.add_argument(
        "--redact",
        action="store_true",
        help="replace account ids and ARNs by stand-ins (the same value by the same stand-in)",
    )


def run(args: argparse.Namespace) -> int:
    from pipeline.analysis.trace import export_trace

    conn = options.connect_from(args)
    arn, job_ids = options.run_from(args, conn)
    header, timeline = export_trace(conn, args.out, arn, job_ids, redacted=args.redact)
    print(
        f"Wrote {args.out}: {len(timeline)} children in {len(timeline.attrs['array_size'])} "
        f"steps, {header['call_count']} API calls recorded"
        + (" (account ids and ARNs redacted)" if args.redact else "")
    )
    return 0
