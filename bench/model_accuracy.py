"""Benchmark of the calibrated model against runs on the local backend (not a test).

    .venv/bin/python bench/model_accuracy.py [--sizes 20,200,2000] [--skews 0,1]
        [--io-ms 0,5] [--workers 1,2] [--ids-per-node 1] [--save runs.pkl | --load runs.pkl]

Runs the matrix sizes x skews x io_ms_per_id x {N_TO_N, BARRIER} x N2N_MAX_WORKERS (one
local home and runner per worker count, so each compute environment gets that many
slots) and prints, per run, the measured makespan, the model at the measured slots and
its error. Then two predictions the model never saw measured:

- **cross-slot**: the model calibrated on the run at 1 slot per step, replayed at the
  slots of the run at 2, against that run's measured makespan;
- **cross-dependency**: the model calibrated on the N_TO_N run, replayed under BARRIER
  (and the other way round), against the run really made with the other dependency;
  with ``n2n_gain`` (model) beside ``measured_gain`` (both runs).

Targets: |error| <= 10 % at the measured slots, <= 20 % cross-slot. The machine's load
average is printed before and after: on a shared 2-core machine the local workers compete
for CPU, so ``io_ms_per_id`` (sleeping work) is the fair test of the model.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import pickle
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline.analysis.model import DEPENDENCIES, calibrate, makespan_s
from pipeline.analysis.timeline import timeline_from
from pipeline.connect import connect
from pipeline.deploy.local import LocalDeployer
from pipeline.local.runner import runner_alive, runner_pid
from pipeline.runs import start_run, wait_for_run
from pipeline.spec import parse_run_input

STACK = "bench"


def _numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(",")]


def stop_runner(home: Path) -> None:
    """End the runner this benchmark started in ``home`` (by its pid) and wait for it."""
    pid = runner_pid(home)
    if pid:
        with contextlib.suppress(ProcessLookupError):  # it may have ended on its own (idle)
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while runner_alive(home) and time.monotonic() < deadline:
            time.sleep(0.1)


def run_timelines(args: argparse.Namespace, workers: int, root: Path) -> dict:
    """Every (size, skew, io_ms, dependency) run on a home whose runner has ``workers``."""
    home = root / f"workers-{workers}"
    os.environ["N2N_HOME"] = str(home)
    os.environ["N2N_MAX_WORKERS"] = str(workers)
    LocalDeployer(home=home).deploy(STACK, {})
    conn = connect("local", home=home)
    timelines = {}
    try:
        for size, skew, io_ms, dependency in itertools.product(
            args.sizes, args.skews, args.io_ms, DEPENDENCIES
        ):
            spec = parse_run_input(
                {
                    "id_count": int(size) * args.ids_per_node,
                    "ids_per_node": args.ids_per_node,
                    "work": {"skew": skew, "io_ms_per_id": io_ms},
                    "dependency": dependency,
                }
            )
            state = wait_for_run(conn, start_run(conn, STACK, spec), poll_s=0.2)
            if state.status != "SUCCEEDED":
                raise SystemExit(f"run {size}/{skew}/{io_ms}/{dependency}: {state.status}")
            timelines[int(size), skew, io_ms, dependency] = timeline_from(conn, state)
    finally:
        stop_runner(home)
    return timelines


def _error(predicted: float, measured: float) -> str:
    return f"{predicted / measured - 1:+.1%}"


def _run_time_mean(timeline) -> float:
    return float((timeline["stopped_at"] - timeline["started_at"]).dt.total_seconds().mean())


def _latency_mean(calibration) -> float:
    """The mean dispatch latency of the run's children (every step; Batch times are whole
    milliseconds, so a median would read 0 or 1)."""
    latencies = np.concatenate(list(calibration.latency_s.values()))
    return float(np.nanmean(latencies)) if np.isfinite(latencies).any() else 0.0


def _within(errors: dict, target: float) -> str:
    """Per io_ms group: how many runs are within ``target``, and the worst error."""
    groups = {}
    for (io_ms, _), error in errors.items():
        groups.setdefault(io_ms, []).append(error)
    return "; ".join(
        f"io_ms {io_ms:g}: {sum(abs(e) <= target for e in group)} of {len(group)} within "
        f"{target:.0%}, worst {max(group, key=abs):+.1%}"
        for io_ms, group in sorted(groups.items())
    )


def report(runs: dict) -> None:
    """Print the three tables (markdown) from ``runs[workers][size, skew, io, dependency]``."""
    print(
        "\n| size | skew | io_ms | dependency | workers | dispatch gap ms | measured s "
        "| model s | error |"
    )
    print("|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    errors = {}
    for workers, timelines in runs.items():
        for (size, skew, io_ms, dependency), timeline in timelines.items():
            measured = makespan_s(timeline)
            calibration = calibrate(timeline)
            model = calibration.predict().makespan_s
            errors[io_ms, (size, skew, dependency, workers)] = model / measured - 1
            print(
                f"| {size} | {skew:g} | {io_ms:g} | {dependency} | {workers} "
                f"| {calibration.dispatch_gap_s * 1000:.1f} | {measured:.2f} "
                f"| {model:.2f} | {_error(model, measured)} |"
            )
    print(f"\nAt the measured slots: {_within(errors, 0.10)}.")
    if 1 in runs and 2 in runs:
        print("\nCross-slot: calibrated at 1 slot per step, replayed at the 2-slot run's slots.")
        print(
            "\n| size | skew | io_ms | dependency | child run mean ms at 1 / at 2 "
            "| dispatch latency mean ms at 1 / at 2 | measured at 2 s | predicted s | error |"
        )
        print("|---:|---:|---:|---|---:|---:|---:|---:|---:|")
        errors = {}
        for key, timeline in runs[1].items():
            target = runs[2][key]
            measured = makespan_s(target)
            one, two = calibrate(timeline), calibrate(target)
            predicted = one.predict(slots=two.slots).makespan_s
            size, skew, io_ms, dependency = key
            errors[io_ms, key] = predicted / measured - 1
            print(
                f"| {size} | {skew:g} | {io_ms:g} | {dependency} "
                f"| {_run_time_mean(timeline) * 1000:.2f} / {_run_time_mean(target) * 1000:.2f} "
                f"| {_latency_mean(one) * 1000:.2f} / {_latency_mean(two) * 1000:.2f} "
                f"| {measured:.2f} | {predicted:.2f} | {_error(predicted, measured)} |"
            )
        print(f"\nCross-slot: {_within(errors, 0.20)}.")
    print("\nCross-dependency: calibrated on one dependency, replayed under the other.")
    print(
        "\n| size | skew | io_ms | workers | BARRIER from N_TO_N | N_TO_N from BARRIER "
        "| n2n_gain (model) | measured_gain |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for workers, timelines in runs.items():
        for (size, skew, io_ms, dependency), fade in timelines.items():
            if dependency != "N_TO_N":
                continue
            barrier = timelines[size, skew, io_ms, "BARRIER"]
            fade_model, barrier_model = calibrate(fade), calibrate(barrier)
            measured = {"N_TO_N": makespan_s(fade), "BARRIER": makespan_s(barrier)}
            as_barrier = fade_model.predict("BARRIER").makespan_s
            as_fade = barrier_model.predict("N_TO_N").makespan_s
            gain = 1 - fade_model.predict().makespan_s / as_barrier
            print(
                f"| {size} | {skew:g} | {io_ms:g} | {workers} "
                f"| {_error(as_barrier, measured['BARRIER'])} "
                f"| {_error(as_fade, measured['N_TO_N'])} | {gain:.3f} "
                f"| {1 - measured['N_TO_N'] / measured['BARRIER']:.3f} |"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_numbers, default=[20, 200, 2000])
    parser.add_argument("--skews", type=_numbers, default=[0.0, 1.0])
    parser.add_argument("--io-ms", type=_numbers, default=[0.0, 5.0])
    parser.add_argument("--workers", type=_numbers, default=[1, 2])
    parser.add_argument("--ids-per-node", type=int, default=4)
    parser.add_argument("--save", type=Path, help="also keep the runs' timelines (pickle)")
    parser.add_argument("--load", type=Path, help="report on timelines kept by --save")
    args = parser.parse_args()
    if args.load:
        report(pickle.loads(args.load.read_bytes()))
        return 0
    os.environ.setdefault("N2N_RUNNER_IDLE_S", "5")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="n2n-model-", ignore_cleanup_errors=True) as root:
        runs = {}
        for workers in args.workers:
            runs[int(workers)] = run_timelines(args, int(workers), Path(root))
            if args.save:
                args.save.write_bytes(pickle.dumps(runs))
    print(f"load average after: {os.getloadavg()[0]:.2f}; {time.monotonic() - began:.0f} s")
    report(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
