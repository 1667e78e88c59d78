"""``n2n report``: run ``06_report.ipynb`` with papermill and write the executed notebook
and its HTML, code hidden, into a folder; or print the crontab line that does so daily."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipeline.connect import BACKENDS
from pipeline.deploy import DEFAULT_STACK
from pipeline.notebooks import run_folder, run_notebooks
from pipeline.reports.report import DEFAULT_LAST_N, ReportError, parse_since
from pipeline.reports.schedule import REPORT_NOTEBOOK, crontab_line

REPORTS_DIR = Path("reports")


def add_window_options(parser: argparse.ArgumentParser) -> None:
    """``--last N`` or ``--since DATE``: which executions the report covers."""
    window = parser.add_mutually_exclusive_group()
    window.add_argument(
        "--last",
        type=int,
        default=DEFAULT_LAST_N,
        metavar="N",
        help=f"the newest N executions (default {DEFAULT_LAST_N}; 0 for all)",
    )
    window.add_argument(
        "--since", metavar="DATE", help="every execution started at or after DATE (ISO, UTC)"
    )


def window_from(args: argparse.Namespace) -> dict[str, Any]:
    """The notebook's ``last_n`` and ``since`` for the window options (checked here, before
    any kernel starts)."""
    parse_since(args.since)
    if args.last < 0:
        raise ReportError(f"--last {args.last} is negative: give 0 (all) or more executions.")
    return {"last_n": 0 if args.since else args.last, "since": args.since or ""}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="local")
    parser.add_argument(
        "--stack", default=DEFAULT_STACK, help=f"stack name (default {DEFAULT_STACK})"
    )
    add_window_options(parser)
    parser.add_argument(
        "--out", type=Path, help="folder to write into (default reports/<UTC timestamp>/)"
    )
    parser.add_argument(
        "--print-cron",
        metavar="SCHEDULE",
        help='print the crontab line that runs this report at SCHEDULE (e.g. "0 6 * * *") '
        "and exit; no crontab is edited",
    )


def _repeated_options(args: argparse.Namespace) -> list[str]:
    """The options of this command line, for the crontab line to repeat."""
    options = ["--backend", args.backend, "--stack", args.stack]
    options += ["--since", args.since] if args.since else ["--last", str(args.last)]
    return options + (["--out", str(args.out.absolute())] if args.out else [])


def run(args: argparse.Namespace) -> int:
    window = window_from(args)
    if args.print_cron:
        print(crontab_line(args.print_cron, _repeated_options(args)))
        return 0
    folder = args.out or run_folder(REPORTS_DIR)
    parameters = {"backend": args.backend, "stack_name": args.stack, **window, "out_dir": "."}
    (notebook,) = run_notebooks([REPORT_NOTEBOOK], parameters, folder)
    print(f"Report of stack {args.stack}: {notebook.with_suffix('.html')}")
    print(f"Executed notebook, tables and figures in {folder}")
    return 0
