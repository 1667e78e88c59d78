"""``n2n demo``: one small run of the pipeline core, in-process, into a temporary folder.

The local backend replaces this body; the command stays.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
from pathlib import Path

from tqdm import tqdm

from pipeline.cli import Command, register
from pipeline.errors import N2NError
from pipeline.handlers.prepare import prepare
from pipeline.storage import open_store
from pipeline.worker.main import main as run_worker
from pipeline.worker.steps import STEPS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ids", type=int, default=2_000, help="ids to process")
    parser.add_argument("--ids-per-node", type=int, default=40, help="ids per array node")


def run(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="n2n-demo-"))
    efs, bucket = root / "efs", root / "bucket"
    egress_url = bucket.as_uri() + "/"
    run_input = {"id_count": args.ids, "ids_per_node": args.ids_per_node}
    prepared = prepare({"input": run_input}, {"EFS_MOUNT": str(efs)})
    environ = {"EFS_MOUNT": str(efs), "WORKFLOW_ID": prepared["workflow_id"]}
    environ["EGRESS_URL"] = egress_url
    for index in tqdm(range(prepared["array_size"]), desc="children", unit="index"):
        for step in STEPS:
            log = io.StringIO()
            env = {**environ, "AWS_BATCH_JOB_ARRAY_INDEX": str(index)}
            if run_worker([step], env, log):
                raise N2NError(f"{step} failed for index {index}: {log.getvalue().strip()}")
    store = open_store(egress_url)
    keys = list(store.keys(f"{prepared['workflow_id']}/results/"))
    ids = sum(len(json.loads(store.get(key))["results"]) for key in keys)
    print(f"Results: {bucket / prepared['workflow_id'] / 'results'}")
    print(f"{len(keys)} result objects cover {ids} of {args.ids} ids.")
    return 0


register(
    Command("demo", "Run a small pipeline on this machine and show the results.", configure, run)
)
