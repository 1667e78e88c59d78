"""Benchmark of the local backend at the seed's tested scale (not a test).

    .venv/bin/python bench/local_scale.py [--ids 400000] [--ids-per-node 40]

1. Deploys the stack into a temporary N2N_HOME and runs ``ids`` ids at ``ids-per-node``
   (default 400,000 / 40: 10,000 indices x 3 steps = 30,000 children) under N_TO_N, and
   prints wall time, children per second, peak RSS of the runner's process tree and engine
   efficiency = Σ child run time ÷ (worker slots x makespan).
2. Times the floor: the same three steps' file work for the same indices on a bare
   process pool with no orchestration, and prints wall ÷ floor.
3. Runs 1,000 indices with skew 1.0 and CPU work under N_TO_N and under BARRIER and
   prints both makespans.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pipeline.connect import connect
from pipeline.deploy.local import LocalDeployer
from pipeline.handlers.prepare import prepare
from pipeline.jobs import STEPS
from pipeline.local import local_client
from pipeline.local.runner import runner_pid
from pipeline.local.worker_clients import worker_environment
from pipeline.runs import start_run, wait_for_run
from pipeline.spec import parse_run_input
from pipeline.worker.main import main as run_worker


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1])
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += rss.get(current, 0)
        stack.extend(children.get(current, []))
    return total


class PeakRss:
    """Samples the runner tree's RSS every 100 ms in a thread."""

    def __init__(self, home: Path) -> None:
        self.home, self.peak, self.stop = home, 0, threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self.stop.wait(0.1):
            pid = runner_pid(self.home)
            if pid:
                self.peak = max(self.peak, tree_rss_kib(pid))

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def children(conn, job_id: str) -> list[dict]:
    """Every child summary of an array job."""
    pages = conn.batch.get_paginator("list_jobs").paginate(arrayJobId=job_id, jobStatus="SUCCEEDED")
    return [job for page in pages for job in page["jobSummaryList"]]


def timed_run(conn, stack: str, run_input: dict) -> tuple[float, list[dict], str]:
    """Run once; return wall seconds, every child summary and the final status."""
    spec = parse_run_input(run_input)
    started = time.perf_counter()
    arn = start_run(conn, stack, spec)
    state = wait_for_run(conn, arn, poll_s=0.2)
    wall = time.perf_counter() - started
    found = [child for job in state.jobs.values() for child in children(conn, job)]
    return wall, found, state.status


def makespan_s(found: list[dict]) -> float:
    """max(stoppedAt) - min(createdAt) over the children, in seconds."""
    return (max(c["stoppedAt"] for c in found) - min(c["createdAt"] for c in found)) / 1000


def _floor_index(args: tuple[str, str, str, int]) -> None:
    efs, home, workflow_id, index = args
    environ = {
        "EFS_MOUNT": efs,
        "WORKFLOW_ID": workflow_id,
        "EGRESS_URL": "s3://floor/",
        **worker_environment(Path(home)),
        "AWS_BATCH_JOB_ARRAY_INDEX": str(index),
    }
    for step in STEPS:
        if run_worker([step], environ, io.StringIO()):
            raise RuntimeError(f"{step} failed for index {index}")


def floor_s(ids: int, ids_per_node: int, workers: int) -> float:
    """The same three steps' file work on a bare process pool, no orchestration."""
    with tempfile.TemporaryDirectory(prefix="n2n-floor-") as root:
        efs = Path(root) / "efs"
        local_client("s3", Path(root)).create_bucket(Bucket="floor")
        prepared = prepare(
            {"input": {"id_count": ids, "ids_per_node": ids_per_node}}, {"EFS_MOUNT": str(efs)}
        )
        tasks = [
            (str(efs), root, prepared["workflow_id"], index)
            for index in range(prepared["array_size"])
        ]
        started = time.perf_counter()
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_floor_index, tasks, chunksize=16))
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=400_000)
    parser.add_argument("--ids-per-node", type=int, default=40)
    args = parser.parse_args()
    workers = int(os.environ.get("N2N_MAX_WORKERS") or os.cpu_count() or 1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="n2n-bench-") as home:
        os.environ["N2N_HOME"] = home
        LocalDeployer(home=Path(home)).deploy("bench", {})
        conn = connect("local", home=home)
        run_input = {"id_count": args.ids, "ids_per_node": args.ids_per_node}
        with PeakRss(Path(home)) as rss:
            wall, found, status = timed_run(conn, "bench", run_input)
        slots = 3 * workers
        busy = sum(c["stoppedAt"] - c["startedAt"] for c in found) / 1000
        span = makespan_s(found)
        print(f"scale run: {status}, {len(found)} children, wall {wall:.1f} s")
        print(f"  children/s {len(found) / wall:.0f}")
        print(f"  peak RSS (runner tree) {rss.peak / 1024:.0f} MiB")
        print(f"  makespan {span:.1f} s, efficiency {busy / (slots * span):.2f} ({slots} slots)")
        floor = floor_s(args.ids, args.ids_per_node, workers)
        print(f"floor: {floor:.1f} s on a bare pool of {workers}; wall / floor {wall / floor:.2f}")
        skewed = {"skew": 1.0, "compute_ms_per_id": 1.0}
        for dependency in ("N_TO_N", "BARRIER"):
            _, found, status = timed_run(
                conn,
                "bench",
                {"id_count": 10_000, "ids_per_node": 10, "work": skewed, "dependency": dependency},
            )
            span = makespan_s(found)
            print(f"1,000 indices, skew 1.0, {dependency}: {status}, makespan {span:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
