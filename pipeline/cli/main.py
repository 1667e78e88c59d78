"""The ``n2n`` command line: one table of subcommands, one module each.

A command module under :mod:`pipeline.cli` defines ``configure(parser)`` and ``run(args)``.
Only the module of the command being run is imported, so ``n2n --help`` and
``n2n --version`` load neither pandas, matplotlib nor botocore. ``main`` turns the kit's
errors into one line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pipeline import __version__
from pipeline.errors import N2NError

COMMANDS: dict[str, str] = {
    "analyze": "Write a run's timeline, metrics and figures (any Batch pipeline, or a trace).",
    "demo": "Deploy locally, run 20,000 ids and show the results.",
    "deploy": "Create or update the pipeline stack and print its outputs.",
    "notebooks": "Execute the kit's notebooks with papermill.",
    "report": "Run the report notebook on a stack's recent executions.",
    "rerun": "Rerun the indices of an execution whose results are missing.",
    "run": "Start an execution of the pipeline.",
    "schedule": "Run the report on a schedule with SageMaker Pipelines.",
    "status": "Show an execution's status and per-step counts.",
    "stop": "Stop an execution and terminate its Batch jobs.",
    "teardown": "Delete the pipeline stack (with --purge, its data too).",
    "trace": "Export a run's data as one portable file (n2n trace export).",
    "watch": "Follow an execution live: one progress bar per step.",
    "whatif": "Predict makespan and cost under other MaxVcpus.",
}
"""Every subcommand and its one-line help; the module is ``pipeline.cli.<name>``."""


def _command_named(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option (the top-level
    options take no value)."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``n2n`` argument parser: every subcommand listed, ``command`` configured."""
    parser = argparse.ArgumentParser(
        prog="n2n",
        description="Deploy, run and study the N_TO_N Batch pipeline, locally or on AWS.",
    )
    parser.add_argument("--version", action="version", version=f"n2n-kit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        sub = subparsers.add_parser(name, help=summary, description=summary)
        if name == command:
            module = importlib.import_module(f"{__package__}.{name}")
            module.configure(sub)
            sub.set_defaults(run=module.run)
    return parser


def _credentials_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import NoCredentialsError, NoRegionError

    return (NoCredentialsError, NoRegionError)


def _service_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import ClientError, ParamValidationError

    return (ClientError, ParamValidationError)


def _service_message(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if response:
        detail = response.get("Error", {})
        return f"{detail.get('Message') or detail.get('Code')} ({detail.get('Code')})"
    return str(error).replace("\n", " ")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``n2n`` command line; return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_named(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except N2NError as error:
        print(f"n2n: error: {error}", file=sys.stderr)
        return 2
    except _credentials_errors() as error:
        print(
            f"n2n: error: {error}: configure AWS credentials and a region "
            "(aws configure, AWS_PROFILE or AWS_REGION), or use --backend local.",
            file=sys.stderr,
        )
        return 2
    except _service_errors() as error:
        print(
            f"n2n: error: the service refused the request: {_service_message(error)}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("n2n: interrupted.", file=sys.stderr)
        return 130
