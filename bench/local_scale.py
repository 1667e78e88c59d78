"""Benchmark of the local backend at the seed's tested scale (not a test).

    .venv/bin/python bench/local_scale.py [--ids 400000] [--ids-per-node 40]
        [--values-per-id 16] [--quick] [--repeat 1]

1. Deploys the stack into a temporary N2N_HOME and runs ``ids`` ids at ``ids-per-node``
   (default 400,000 / 40: 10,000 indices x 3 steps = 30,000 children; ``--quick``: 1,000
   indices) under N_TO_N, each child doing the work of ``values-per-id`` values per id (the
   run default; more makes each child bigger), and prints wall time, children per second,
   the delay before the first child started (after the first job was created), peak RSS and
   PSS and CPU seconds of the runner's process tree, and engine efficiency = Σ child run
   time ÷ (worker slots x makespan).
2. Times the floor just before and just after the run: the same work with no orchestration,
   i.e. prepare's layout of the ids (the run's wall time includes its prepare Lambda) plus
   the three steps' file work for the same indices on a bare process pool (one process per
   core). The machine's speed drifts by a quarter within minutes, mostly in its disk
   flushes, so the run is compared with the mean of the two floors that bracket it, and
   each timed phase starts once the previous one's writes are on disk. Prints both floors
   and the floor's CPU a child (the size of the children), wall ÷ floor, makespan ÷ the
   steps' floor (the engine's share alone) and CPU ÷ floor CPU (the CPU ratio is the figure
   to compare on a machine other work is loading). Per step, how busy its slots were
   between its first start and its last stop. ``--repeat N`` makes N runs, each floor after
   one the floor before the next, and prints the median wall ÷ floor (the runner started
   by the first run serves the others).
3. Unless ``--quick``: runs 1,000 indices with skew 1.0 and CPU work under N_TO_N and under
   BARRIER and prints both makespans.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import astuple, dataclass
from pathlib import Path
from statistics import median

from pipeline.connect import connect
from pipeline.deploy.local import LocalDeployer
from pipeline.errors import InvalidRunInput
from pipeline.handlers.prepare import prepare
from pipeline.jobs import STEPS
from pipeline.local import local_client
from pipeline.local.batch.engine import default_max_workers
from pipeline.local.runner import runner_pid
from pipeline.local.worker_clients import worker_environment
from pipeline.runs import start_run, wait_for_run
from pipeline.spec import Work, parse_run_input
from pipeline.worker.main import main as run_worker

QUICK_IDS = 40_000
"""1,000 indices at the default 40 ids per node."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proportional_kib(pid: int) -> int:
    """A process's proportional set size: its private pages plus its share of the pages it
    shares with others (forked workers share the forkserver's preloaded modules)."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    found = (line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:"))
    return int(next(found, 0))


def tree_usage(pid: int) -> tuple[int, int, float]:
    """Resident memory (KiB: RSS, which counts a shared page in every process mapping it, and
    PSS, which splits it between them) and CPU seconds of a process and all its descendants;
    the CPU of descendants that already exited counts once their parent reaped them."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        cpu[int(entry.name)] = sum(int(value) for value in fields[11:15])
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1])
    total_rss, total_pss, total_cpu, stack = 0, 0, 0, [pid]
    while stack:
        current = stack.pop()
        total_rss += rss.get(current, 0)
        total_pss += _proportional_kib(current)
        total_cpu += cpu.get(current, 0)
        stack.extend(children.get(current, []))
    return total_rss, total_pss, total_cpu / CLOCK_TICKS


class RunnerUsage:
    """Samples the runner tree every 100 ms in a thread: peak RSS, peak PSS and CPU seconds
    used."""

    def __init__(self, home: Path) -> None:
        self.home, self.peak_kib, self.peak_pss_kib = home, 0, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self._first_cpu: float | None = None
        self._last_cpu = 0.0

    def sample(self) -> None:
        """Take one sample now."""
        pid = runner_pid(self.home)
        if pid is None:
            return
        rss, pss, cpu = tree_usage(pid)
        self.peak_kib = max(self.peak_kib, rss)
        self.peak_pss_kib = max(self.peak_pss_kib, pss)
        self._last_cpu = cpu
        if self._first_cpu is None:
            self._first_cpu = cpu if rss else 0.0

    @property
    def cpu_s(self) -> float:
        """CPU seconds the tree used between the first and the last sample."""
        return self._last_cpu - (self._first_cpu or 0.0)

    def _sample(self) -> None:
        while not self.stop.wait(0.1):
            self.sample()

    def __enter__(self) -> RunnerUsage:
        self.sample()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.sample()


def children(conn, job_id: str) -> list[dict]:
    """Every child summary of an array job."""
    pages = conn.batch.get_paginator("list_jobs").paginate(arrayJobId=job_id, jobStatus="SUCCEEDED")
    return [job for page in pages for job in page["jobSummaryList"]]


def settle_disk() -> None:
    """Wait until the files written and deleted so far are on disk (``sync``), so a timed
    phase does not pay for the writes and deletions the phase before it left pending."""
    os.sync()


def timed_run(conn, stack: str, run_input: dict) -> tuple[float, list[dict], str]:
    """Run once, the disk settled first; return wall seconds, every child summary (with its
    ``step``) and the final status."""
    spec = parse_run_input(run_input)
    settle_disk()
    started = time.perf_counter()
    arn = start_run(conn, stack, spec)
    state = wait_for_run(conn, arn, poll_s=0.2)
    wall = time.perf_counter() - started
    found = [
        {**child, "step": step} for step, job in state.jobs.items() for child in children(conn, job)
    ]
    return wall, found, state.status


def makespan_s(found: list[dict]) -> float:
    """max(stoppedAt) - min(createdAt) over the children, in seconds."""
    return (max(c["stoppedAt"] for c in found) - min(c["createdAt"] for c in found)) / 1000


def first_child_delay_s(found: list[dict]) -> float:
    """From the first child's creation to the first start of any child, in seconds."""
    return (min(c["startedAt"] for c in found) - min(c["createdAt"] for c in found)) / 1000


def _floor_index(args: tuple[str, str, str, str, int]) -> float:
    """Run the three steps of one index; return the CPU seconds they took."""
    cpu_before = time.process_time()
    efs, home, workflow_id, work, index = args
    environ = {
        "EFS_MOUNT": efs,
        "WORKFLOW_ID": workflow_id,
        "EGRESS_URL": "s3://floor/",
        "N2N_WORK": work,
        **worker_environment(Path(home)),
        "AWS_BATCH_JOB_ARRAY_INDEX": str(index),
    }
    for step in STEPS:
        if run_worker([step], environ, io.StringIO()):
            raise RuntimeError(f"{step} failed for index {index}")
    return time.process_time() - cpu_before


@dataclass(frozen=True)
class Floor:
    """Seconds of the same work without orchestration: wall of prepare's layout of the ids
    (as the run's prepare Lambda does it), wall of the three steps' file work on a bare
    process pool, and the CPU seconds of both (each task's own, summed: this process's
    children's CPU would also count a runner it reaps meanwhile)."""

    prepare_s: float
    steps_s: float
    cpu_s: float

    @property
    def wall_s(self) -> float:
        """Prepare and the steps."""
        return self.prepare_s + self.steps_s

    def describe(self) -> str:
        """The floor as printed."""
        return (
            f"{self.wall_s:.1f} s = prepare {self.prepare_s:.1f} s + steps {self.steps_s:.1f} s;"
            f" CPU {self.cpu_s:.1f} s"
        )


def mean_floor(floors: list[Floor]) -> Floor:
    """The floor figures averaged over several timings."""
    return Floor(*(sum(values) / len(floors) for values in zip(*map(astuple, floors), strict=True)))


def time_floor(run_input: dict, workers: int) -> Floor:
    """Time the floor of ``run_input`` once (see :class:`Floor`), the disk settled first."""
    settle_disk()
    with tempfile.TemporaryDirectory(prefix="n2n-floor-") as root:
        efs = Path(root) / "efs"
        local_client("s3", Path(root)).create_bucket(Bucket="floor")
        started, cpu_before = time.perf_counter(), time.process_time()
        prepared = prepare({"input": run_input}, {"EFS_MOUNT": str(efs)})
        prepare_s, prepare_cpu = time.perf_counter() - started, time.process_time() - cpu_before
        work = json.dumps(prepared["work"])
        tasks = [
            (str(efs), root, prepared["workflow_id"], work, index)
            for index in range(prepared["array_size"])
        ]
        started = time.perf_counter()
        with ProcessPoolExecutor(workers) as pool:
            steps_cpu = sum(pool.map(_floor_index, tasks, chunksize=16))
        steps_s = time.perf_counter() - started
        return Floor(prepare_s, steps_s, prepare_cpu + steps_cpu)


def step_occupancy(found: list[dict], slots_per_step: int) -> dict[str, tuple[float, float]]:
    """Per step: its window (first start to last stop, seconds) and how busy its slots
    were in it (Σ run ÷ (slots x window))."""
    by_step: dict[str, list[dict]] = {}
    for child in found:
        by_step.setdefault(child["step"], []).append(child)
    occupancy = {}
    for step in STEPS:
        runs = by_step.get(step, [])
        if not runs:
            continue
        window = (max(c["stoppedAt"] for c in runs) - min(c["startedAt"] for c in runs)) / 1000
        busy = sum(c["stoppedAt"] - c["startedAt"] for c in runs) / 1000
        occupancy[step] = (window, busy / (slots_per_step * window) if window else 0.0)
    return occupancy


def load_average() -> str:
    """The machine's load averages, to print beside the figures."""
    return "load average " + " ".join(f"{value:.1f}" for value in os.getloadavg())


def report_scale_run(
    wall: float,
    found: list[dict],
    status: str,
    usage: RunnerUsage,
    workers: int,
    before: Floor,
    after: Floor,
) -> float:
    """Print one scale run's figures against the mean of the floors timed just before and
    just after it; return wall / floor."""
    slots = 3 * workers
    busy = sum(c["stoppedAt"] - c["startedAt"] for c in found) / 1000
    span = makespan_s(found)
    print(f"scale run: {status}, {len(found)} children, wall {wall:.1f} s")
    print(f"  children/s {len(found) / wall:.0f}")
    print(f"  first child started {first_child_delay_s(found):.3f} s after the first creation")
    print(
        f"  peak RSS (runner tree) {usage.peak_kib / 1024:.0f} MiB,"
        f" peak PSS {usage.peak_pss_kib / 1024:.0f} MiB"
    )
    print(f"  CPU (runner tree) {usage.cpu_s:.1f} s")
    print(f"  makespan {span:.1f} s, efficiency {busy / (slots * span):.2f} ({slots} slots)")
    for step, (window, occupied) in step_occupancy(found, workers).items():
        print(f"  {step}: slots busy {occupied:.2f} of its {window:.1f} s window")
    floor = mean_floor([before, after])
    print(f"floor just before the run: {before.describe()}")
    print(f"  just after: {after.describe()}")
    print(f"  mean: {floor.describe()}; {1000 * floor.cpu_s / len(found):.2f} ms CPU a child")
    print(
        f"  wall / floor {wall / floor.wall_s:.2f} (before {wall / before.wall_s:.2f},"
        f" after {wall / after.wall_s:.2f}); makespan / steps floor"
        f" {span / floor.steps_s:.2f}; CPU / floor CPU {usage.cpu_s / floor.cpu_s:.2f}"
    )
    return wall / floor.wall_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=400_000)
    parser.add_argument("--ids-per-node", type=int, default=40)
    parser.add_argument(
        "--values-per-id",
        type=int,
        default=Work.values_per_id,
        help="the work per id, so the size of each child (default %(default)s)",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_IDS:,} ids, no skew runs (for iterating)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="scale runs, each between two floors (default 1)"
    )
    args = parser.parse_args()
    run_input = {
        "id_count": QUICK_IDS if args.quick else args.ids,
        "ids_per_node": args.ids_per_node,
        "work": {"values_per_id": args.values_per_id},
    }
    try:
        parse_run_input(run_input)
    except InvalidRunInput as error:
        parser.error(str(error))
    workers = default_max_workers()
    cores = os.cpu_count() or 1
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"before: {load_average()}; floors on a bare pool of {cores}")
    with tempfile.TemporaryDirectory(prefix="n2n-bench-") as home:
        os.environ["N2N_HOME"] = home
        LocalDeployer(home=Path(home)).deploy("bench", {})
        conn = connect("local", home=home)
        floor = time_floor(run_input, cores)
        ratios = []
        for number in range(1, args.repeat + 1):
            if args.repeat > 1:
                print(f"-- run {number} of {args.repeat} ({load_average()})")
            with RunnerUsage(Path(home)) as usage:
                wall, found, status = timed_run(conn, "bench", run_input)
            after = time_floor(run_input, cores)
            ratios.append(report_scale_run(wall, found, status, usage, workers, floor, after))
            floor = after
        if args.repeat > 1:
            listed = ", ".join(f"{ratio:.2f}" for ratio in ratios)
            print(f"wall / floor over {args.repeat} runs: median {median(ratios):.2f} ({listed})")
        if not args.quick:
            skewed = {"skew": 1.0, "compute_ms_per_id": 1.0}
            for dependency in ("N_TO_N", "BARRIER"):
                _, found, status = timed_run(
                    conn,
                    "bench",
                    {
                        "id_count": 10_000,
                        "ids_per_node": 10,
                        "work": skewed,
                        "dependency": dependency,
                    },
                )
                span = makespan_s(found)
                print(f"1,000 indices, skew 1.0, {dependency}: {status}, makespan {span:.1f} s")
    print(f"after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
