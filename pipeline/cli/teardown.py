"""``n2n teardown``: delete the pipeline stack, and with ``--purge`` its retained data."""

from __future__ import annotations

import argparse
import sys

from pipeline.cli import options
from pipeline.deploy import teardown


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_backend_options(parser)
    parser.add_argument(
        "--purge",
        action="store_true",
        help="also delete retained data (buckets, file system, logs) and the bootstrap stack",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def confirmed(args: argparse.Namespace) -> bool:
    """Ask on a terminal unless --yes; never ask when stdin is not a TTY."""
    if args.yes or not sys.stdin.isatty():
        return True
    what = "and purge its retained data" if args.purge else "(retained data is kept)"
    answer = input(f"Delete stack {args.stack} on {args.backend} {what}? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    if not confirmed(args):
        print("Nothing was deleted.")
        return 1
    removed = teardown(
        args.backend, args.stack, args.purge, region=args.region, profile=args.profile
    )
    for line in removed:
        print(f"Removed {line}")
    return 0
