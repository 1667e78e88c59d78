"""``n2n demo``: deploy the stack on the local backend, run
20,000 ids at 40 per node (500 array indices per step) and show where the results are."""

from __future__ import annotations

import argparse

from pipeline.connect import connect
from pipeline.deploy import DEFAULT_STACK, deploy
from pipeline.errors import N2NError
from pipeline.local.core.home import bucket_folder
from pipeline.runs import start_run, step_progress, wait_for_run
from pipeline.runs.progress import StepBars
from pipeline.runs.results import id_counts
from pipeline.spec import parse_run_input


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default=DEFAULT_STACK, help="stack name (default n2n)")
    parser.add_argument("--ids", type=int, default=20_000, help="ids to process (default 20000)")
    parser.add_argument("--ids-per-node", type=int, default=40, help="ids per node (default 40)")


def run(args: argparse.Namespace) -> int:
    spec = parse_run_input({"id_count": args.ids, "ids_per_node": args.ids_per_node})
    print(f"Deploying stack {args.stack} on the local backend ...")
    outputs = deploy("local", args.stack)
    conn = connect("local")
    arn = start_run(conn, args.stack, spec)
    print(f"Running {spec.id_count} ids over {spec.array_size} indices per step: {arn}")
    with StepBars() as bars:
        state = wait_for_run(conn, arn, bars)
    print(f"Status: {state.status}" + (f" ({state.cause})" if state.cause else ""))
    for step, counts in step_progress(conn, state.jobs).items():
        print(f"  {step:<8} {counts['succeeded']} of {counts['total']} children succeeded")
    bucket = outputs["EgressBucketName"]
    counts = id_counts(conn, bucket, state.workflow_id)
    print(
        f"Results: {len(counts)} of {spec.id_count} ids in "
        f"{bucket_folder(conn.home, bucket) / state.workflow_id / 'results'}"
    )
    if state.status != "SUCCEEDED" or len(counts) != spec.id_count:
        raise N2NError(f"The demo run ended {state.status}: see `n2n status {arn}`.")
    return 0
