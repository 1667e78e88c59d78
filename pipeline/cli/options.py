"""Options several commands share: the backend and the stack."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.connect import BACKENDS, connect
from pipeline.deploy import DEFAULT_STACK
from pipeline.errors import N2NError
from pipeline.runs import latest_execution


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


def add_execution_options(parser: argparse.ArgumentParser) -> None:
    """The execution a command is about: its ARN, or ``--latest`` of the stack."""
    parser.add_argument("execution_arn", nargs="?", help="the execution (or use --latest)")
    parser.add_argument("--latest", action="store_true", help="the stack's newest execution")


def execution_from(args: argparse.Namespace, conn: Any) -> str:
    """The ARN the options name; one sentence when they name none or both."""
    if bool(args.execution_arn) == bool(args.latest):
        raise N2NError("Name one execution: give its ARN or --latest.")
    return args.execution_arn or latest_execution(conn, args.stack)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The run a command is about: an execution (ARN or ``--latest``) or ``--jobs``."""
    add_execution_options(parser)
    parser.add_argument(
        "--jobs",
        metavar="ID[,ID...]",
        help="Batch jobs submitted outside Step Functions (and the jobs they depend on)",
    )


def run_from(args: argparse.Namespace, conn: Any) -> tuple[str | None, list[str]]:
    """(execution ARN, job ids) the options name, exactly one of them; one sentence when
    they name none or several."""
    from pipeline.analysis.timeline import job_id_list

    job_ids = job_id_list(args.jobs)
    if args.jobs is not None and not job_ids:
        raise N2NError("--jobs names no job: give ids separated by commas.")
    if job_ids:
        if args.execution_arn or args.latest:
            raise N2NError("Name one run: an execution ARN, --latest or --jobs, not several.")
        return None, job_ids
    return execution_from(args, conn), []
