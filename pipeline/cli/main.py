"""The ``n2n`` command line: subcommands come from a registry, one module each.

A command module under :mod:`pipeline.cli` calls :func:`register`; ``main`` builds
the parser from the registry and turns the kit's errors into one line, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline import __version__
from pipeline.errors import N2NError


@dataclass(frozen=True)
class Command:
    """One subcommand: how to configure its parser and how to run it."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: dict[str, Command] = {}


def register(command: Command) -> Command:
    """Add ``command`` to the CLI."""
    COMMANDS[command.name] = command
    return command


def _load_commands() -> None:
    import pipeline.cli as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in ("__main__", "main", "options"):
            importlib.import_module(f"{package.__name__}.{module.name}")


def build_parser() -> argparse.ArgumentParser:
    """The ``n2n`` argument parser with every registered subcommand."""
    _load_commands()
    parser = argparse.ArgumentParser(
        prog="n2n",
        description="Deploy, run and study the N_TO_N Batch pipeline, locally or on AWS.",
    )
    parser.add_argument("--version", action="version", version=f"n2n-kit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in sorted(COMMANDS.values(), key=lambda c: c.name):
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.configure(sub)
        sub.set_defaults(run=command.run)
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
    parser = build_parser()
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
