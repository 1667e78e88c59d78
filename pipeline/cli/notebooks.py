"""``n2n notebooks run``: execute the kit's notebooks with papermill, in order, into a
folder of executed notebooks, their HTML and what they saved (figures, sidecars)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.notebooks import NOTEBOOKS, parse_value, run_notebooks


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run_parser = actions.add_parser(
        "run",
        help="execute notebooks in order (default: all)",
        description="Execute notebooks with papermill in order: "
        + ", ".join(f"{name} ({step.help})" for name, step in NOTEBOOKS.items()),
    )
    run_parser.add_argument(
        "names", nargs="*", metavar="NAME", help="a notebook, like 01_deploy or deploy"
    )
    run_parser.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="a parameter for every notebook that has it; VALUE is a YAML/JSON literal",
    )
    run_parser.add_argument(
        "--out", type=Path, help="folder to write into (default runs/<UTC timestamp>/)"
    )


def run(args: argparse.Namespace) -> int:
    parameters = {key: parse_value(value) for key, value in args.parameter}
    executed = run_notebooks(args.names, parameters, args.out)
    folder = executed[0].parent
    print(f"Executed {', '.join(path.stem for path in executed)} (.ipynb and .html) in {folder}")
    for figures in sorted({path.parent for path in folder.rglob("*.png")}):
        print(f"Figures: {figures}")
    return 0
