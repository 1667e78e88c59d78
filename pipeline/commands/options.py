"""Options several commands share: the backend and the stack."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.connect import BACKENDS, connect
from pipeline.deploy import DEFAULT_STACK


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """``--backend``, ``--stack``, ``--region``, ``--profile``."""
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="local")
    parser.add_argument(
        "--stack", default=DEFAULT_STACK, help=f"stack name (default {DEFAULT_STACK})"
    )
    parser.add_argument("--region", help="AWS region (aws backend)")
    parser.add_argument("--profile", help="AWS profile (aws backend)")


def connect_from(args: argparse.Namespace) -> Any:
    """The clients of the backend the options name."""
    return connect(args.backend, region=args.region, profile=args.profile)
