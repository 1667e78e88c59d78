"""The background runner: one detached process per ``N2N_HOME`` that runs the local Batch
engine and the state machine executions, and outlives the notebook cell or CLI call
that started them.

``ensure_runner(home)`` starts one unless one already holds ``{home}/runner.lock``;
``serve(home, stop)`` is the runner's body (tests may run it in a thread).
"""

from __future__ import annotations

import argparse
import fcntl
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

LOCK_FILE = "runner.lock"
LOG_FILE = "runner.log"
IDLE_EXIT_S = 30.0
"""How long an idle runner lingers before it exits (``N2N_RUNNER_IDLE_S`` overrides)."""


def _try_lock(home: Path):
    home.mkdir(parents=True, exist_ok=True)
    handle = open(home / LOCK_FILE, "a+")  # noqa: SIM115 - held for the runner's lifetime
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def runner_pid(home: Path) -> int | None:
    """The pid the current (or last) runner wrote into the lock file."""
    try:
        return int((Path(home) / LOCK_FILE).read_text().strip() or 0) or None
    except (FileNotFoundError, ValueError):
        return None


def runner_alive(home: Path) -> bool:
    """Whether a runner currently holds the home's lock."""
    handle = _try_lock(Path(home))
    if handle is None:
        return True
    handle.close()
    return False


def ensure_runner(home: Path) -> None:
    """Start a detached runner for ``home`` unless one is running."""
    home = Path(home)
    if runner_alive(home):
        return
    log = open(home / LOG_FILE, "ab")  # noqa: SIM115 - handed to the child process
    with log:
        subprocess.Popen(
            [sys.executable, "-m", "pipeline.local.runner", "--home", str(home)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    deadline = time.monotonic() + 10
    while not runner_alive(home) and time.monotonic() < deadline:
        time.sleep(0.02)


def serve(home: Path, stop: threading.Event, idle_exit_s: float | None = IDLE_EXIT_S) -> bool:
    """Run the engine and executions until ``stop`` is set or nothing ran for
    ``idle_exit_s`` seconds. Return False at once when another runner holds the lock.

    After an idle exit the lock is released first and the work queue checked again, so an
    execution started while the runner was leaving is never stranded.
    """
    from pipeline.local.services import LocalServices

    home = Path(home)
    services = None
    while True:
        lock = _try_lock(home)
        if lock is None:
            return services is not None
        with lock:
            lock.seek(0)
            lock.truncate()
            lock.write(str(os.getpid()))
            lock.flush()
            services = services or LocalServices(home)
            services.serve(stop, idle_exit_s=idle_exit_s)
        if stop.is_set() or not services.has_pending_work():
            return True


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.local.runner --home DIR``."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.local.runner")
    parser.add_argument("--home", required=True, type=Path)
    args = parser.parse_args(argv)
    os.environ["N2N_HOME"] = str(args.home)
    idle_exit_s = float(os.environ.get("N2N_RUNNER_IDLE_S") or IDLE_EXIT_S)
    serve(args.home, threading.Event(), idle_exit_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
