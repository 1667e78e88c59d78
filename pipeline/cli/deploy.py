"""``n2n deploy``: create or update the pipeline stack on a backend; print its outputs."""

from __future__ import annotations

import argparse

from pipeline.cli import options
from pipeline.deploy import deploy, parse_parameters


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_backend_options(parser)
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="template parameter, repeatable (e.g. --parameter ProcessMaxVcpus=256)",
    )


def run(args: argparse.Namespace) -> int:
    parameters = parse_parameters(args.parameter)
    outputs = deploy(args.backend, args.stack, parameters, region=args.region, profile=args.profile)
    print(f"Stack {args.stack} is deployed on {args.backend}.")
    for key in sorted(outputs):
        print(f"{key}: {outputs[key]}")
    return 0
