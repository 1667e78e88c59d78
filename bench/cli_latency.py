"""Benchmark of how the CLI feels on the local backend (not a test).

    .venv/bin/python bench/cli_latency.py [--repeat 5]

Deploys the stack into a temporary N2N_HOME, then prints the median (and range) of
``--repeat`` runs of each command, with the bare interpreter start beside them, and the
median CPU seconds (user + sys) of the command's own process (the figure to compare on a
machine other work is loading; the runner it starts is not counted):

- ``python -c pass``, ``n2n --version``, ``n2n status --latest``;
- ``n2n run --ids 1 --wait`` with the runner already up ("warm") and with none running
  ("cold": each run starts a fresh runner), split into the execution itself (its
  stopDate - startDate) and the time outside it, and the delay from the first job's
  creation to its first child's start.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_scale import children_cpu_s, load_average

from pipeline.connect import connect
from pipeline.deploy.local import LocalDeployer
from pipeline.local.runner import runner_alive
from pipeline.runs import run_state

STACK = "n2n"
RUNNER_GONE_S = 60.0
"""How long a cold run waits for the previous runner to leave."""
N2N = str(Path(sys.executable).with_name("n2n"))


LABEL_WIDTH = 46


def timed(command: list[str], environment: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one command and its stdout; a failed command stops the
    benchmark."""
    cpu = children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(command, env=environment, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    return wall, children_cpu_s() - cpu, done.stdout


def wait_runner_gone(home: Path) -> None:
    """Block until no runner holds the home (a cold run must start its own)."""
    deadline = time.monotonic() + RUNNER_GONE_S
    while runner_alive(home):
        if time.monotonic() > deadline:
            raise SystemExit(f"The runner of {home} did not leave within {RUNNER_GONE_S:.0f} s.")
        time.sleep(0.05)


def run_figures(conn, stdout: str, wall: float, cpu: float) -> dict[str, float]:
    """Wall, CPU, execution seconds, seconds outside it and first-child delay of one
    ``n2n run``."""
    arn = json.loads(stdout.strip().splitlines()[-1])["executionArn"]
    described = conn.sfn.describe_execution(executionArn=arn)
    execution = (described["stopDate"] - described["startDate"]).total_seconds()
    jobs = conn.batch.describe_jobs(jobs=list(run_state(conn, arn).jobs.values()))["jobs"]
    first_created = min(job["createdAt"] for job in jobs)
    first_started = min(job["startedAt"] for job in jobs)
    return {
        "wall": wall,
        "cpu": cpu,
        "execution": execution,
        "outside": wall - execution,
        "first child": (first_started - first_created) / 1000,
    }


def summary(label: str, values: list[float]) -> str:
    """The label, median and range."""
    median = statistics.median(values)
    return f"{label:{LABEL_WIDTH}s} {median:6.3f} s  ({min(values):.3f} - {max(values):.3f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(f"before: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="n2n-cli-") as home:
        warm = {**os.environ, "N2N_HOME": home}
        cold = {**warm, "N2N_RUNNER_IDLE_S": "0"}
        LocalDeployer(home=Path(home)).deploy(STACK, {})
        conn = connect("local", home=home)
        run = [N2N, "run", "--ids", "1", "--wait", "--json"]
        timed(run, warm)
        simple = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "n2n --version": [N2N, "--version"],
            "n2n status --latest": [N2N, "status", "--latest"],
        }
        for label, command in simple.items():
            times = [timed(command, warm)[:2] for _ in range(args.repeat)]
            print(summary(label, [wall for wall, _ in times]))
            print(summary(f"{label}: cpu", [cpu for _, cpu in times]))
        for mode, environment in (("warm", warm), ("cold", cold)):
            figures = []
            if mode == "warm":
                timed(run, warm)
            for _ in range(args.repeat):
                if mode == "cold":
                    wait_runner_gone(Path(home))
                wall, cpu, stdout = timed(run, environment)
                figures.append(run_figures(conn, stdout, wall, cpu))
            for figure in figures[0]:
                label = f"n2n run --ids 1 --wait, {mode}: {figure}"
                print(summary(label, [f[figure] for f in figures]))
    print(f"after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
