"""The background runner: one detached process per ``N2N_HOME`` that runs the local Batch
engine and the state machine executions, and outlives the notebook cell or CLI call
that started them.

Each execution runs the interpreter in its own thread, with the template's Lambdas run in
their execution environments (:mod:`pipeline.local.awslambda.environments`, their boto3
clients routed to the local backend) and Batch jobs submitted to the local engine, which
runs in a thread of the same process.

Three lock files: runners compete for ``runner.lock`` (one runner per home), a live
runner holds a shared lock on ``runner.alive`` that anyone may test without getting in a
starting runner's way (the runner waits for it, never gives up on it), and callers that
would start a runner take ``runner.spawn`` in turn (one spawn at a time per home). A new
runner first fails the executions a dead runner left RUNNING. A runner says in ``runner.log`` why it
starts and why it leaves; a runner that could not start fails the executions waiting for
it with one sentence, so nothing waits forever for a runner that will never come.
``ensure_runner(home)`` starts one unless one is alive; ``serve(home, stop)`` is the
runner's body (tests may run it in a thread).

The engine and the interpreter are imported where the runner first needs them: every
client imports this module for ``ensure_runner``, and every worker process re-runs it as
its ``__main__``; ``main`` starts the workers' forkserver before importing them.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from botocore.exceptions import ClientError

from pipeline.local import local_client
from pipeline.local.awslambda.environments import Environments
from pipeline.local.batch.pool import start_forkserver
from pipeline.local.core.arns import DEFAULT_REGION, region_of
from pipeline.local.core.clock import now_ms
from pipeline.local.events.rules import Rules, Target
from pipeline.local.stepfunctions.executions import RUNNER_DIED, ExecutionRecord, Executions

LOCK_FILE = "runner.lock"
ALIVE_FILE = "runner.alive"
LOG_FILE = "runner.log"
SPAWN_LOCK_FILE = "runner.spawn"
IDLE_EXIT_S = 30.0
"""How long an idle runner lingers before it exits (``N2N_RUNNER_IDLE_S`` overrides)."""
POLL_S = 0.05
START_TIMEOUT_S = 10.0
"""How long ``ensure_runner`` waits for a new runner to come up before it returns (the
runner may still come up later; a runner that exits without serving fails the waiting
executions)."""
LOG_TAIL_CHARS = 400
RECORD_RETRY_MAX_S = 5.0
ENGINE_RESTART_S = 1.0
"""The least time between two starts of the Batch engine (a full disk may stop it again)."""


def _lock(path: Path, mode: int) -> IO[str] | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held as long as the lock is
    try:
        fcntl.flock(handle, mode)
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
    """Whether a runner serves ``home`` (it holds ``runner.alive``)."""
    probe = _lock(Path(home) / ALIVE_FILE, fcntl.LOCK_EX | fcntl.LOCK_NB)
    if probe is None:
        return True
    probe.close()
    return False


def log(message: str) -> None:
    """One line in ``runner.log`` (the runner's stderr): when, which runner, what."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with contextlib.suppress(OSError):  # a full disk must not stop the runner for a log line
        print(f"{stamp} runner {os.getpid()}: {message}", file=sys.stderr, flush=True)


def ensure_runner(home: Path) -> None:
    """Start a detached runner for ``home`` unless one is running.

    The child is reaped by a daemon thread (no ``<defunct>`` runner under a notebook
    kernel). A runner that exits without ever serving while executions wait for one
    fails them with the reason (see :func:`fail_waiting`). Callers that find no runner at
    the same time (threads, processes) take ``runner.spawn`` in turn, so one of them spawns
    and the others find its runner alive."""
    home = Path(home)
    if runner_alive(home):
        return
    with _lock(home / SPAWN_LOCK_FILE, fcntl.LOCK_EX):
        if runner_alive(home):  # another caller spawned it while this one waited
            return
        with open(home / LOG_FILE, "ab") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "pipeline.local.runner", "--home", str(home)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
                close_fds=True,
            )
        started = threading.Event()
        threading.Thread(
            target=_reap, args=(home, process, started), name="n2n-runner-reaper", daemon=True
        ).start()
        started.wait(START_TIMEOUT_S)


def _reap(home: Path, process: subprocess.Popen, started: threading.Event) -> None:
    """Wait for the runner child (so it never stays a zombie), setting ``started`` once a
    runner serves ``home``; if the child failed and no runner serves, fail what waits."""
    while process.poll() is None and not started.is_set():
        if runner_alive(home):
            started.set()
        else:
            time.sleep(POLL_S)
    process.wait()
    exited_ms = now_ms()
    started.set()
    if process.returncode and not runner_alive(home):
        fail_waiting(home, f"exited with status {process.returncode}", exited_ms)


def fail_waiting(home: Path, what: str, before_ms: int) -> list[str]:
    """Fail the executions started before ``before_ms`` that no runner claimed, because
    the runner meant for them ``what``; return their ARNs."""
    tail = _log_tail(Path(home) / LOG_FILE)
    cause = (
        f"The local runner for {home} {what} before it claimed the execution"
        f"{f' ({tail})' if tail else ''}: see {Path(home) / LOG_FILE}, then start the "
        "execution again."
    )
    executions = Executions(home)
    return [
        arn
        for arn in executions.unclaimed()
        if executions.fail_unclaimed(arn, RUNNER_DIED, cause, before_ms)
    ]


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1][-LOG_TAIL_CHARS:] if lines else ""


@dataclass
class RunningExecution:
    """An execution this runner is interpreting."""

    thread: threading.Thread
    stop: threading.Event


class Runner:
    """The engine and the executions of one ``N2N_HOME``."""

    def __init__(self, home: Path) -> None:
        from pipeline.local.batch.engine import BatchEngine

        self.home = Path(home)
        self.executions = Executions(self.home)
        self.engine = BatchEngine(self.home)
        self.rules = Rules(self.home)
        self.lambdas = Environments(self.home)
        self.running: dict[str, RunningExecution] = {}

    def client(self, service: str, region: str | None = None):
        """A local client of this home in ``region`` (the default region when None)."""
        return local_client(service, self.home, region or DEFAULT_REGION)

    def has_pending_work(self) -> bool:
        """Whether an execution waits to be claimed, a Batch job can still change or an
        enabled scheduled rule has a firing ahead."""
        return bool(self.executions.unclaimed()) or self.engine.busy() or self.rules.any_enabled()

    def start_scheduled(self, target: Target, execution_input: str) -> None:
        """Start the execution a scheduled rule's firing asks for (as EventBridge would, a
        target that cannot be started is reported and skipped)."""
        sfn = self.client("stepfunctions", region_of(target.arn))
        try:
            sfn.start_execution(stateMachineArn=target.arn, input=execution_input)
        except ClientError as error:
            log(f"scheduled start of {target.arn} failed: {error}")

    def serve(self, stop: threading.Event, idle_exit_s: float | None) -> None:
        """Run until ``stop`` is set or nothing happened for ``idle_exit_s`` seconds."""
        self._start_engine()
        idle_since = time.monotonic()
        pid = os.getpid()
        self.fail_orphans()
        try:
            while not stop.wait(POLL_S):
                self._keep_engine_running()
                try:
                    busy = self._poll(pid)
                except sqlite3.OperationalError:  # e.g. locked or full: retried next poll
                    log(f"poll failed, retrying:\n{traceback.format_exc()}")
                    busy = True
                if busy:
                    idle_since = time.monotonic()
                elif idle_exit_s is not None and time.monotonic() - idle_since > idle_exit_s:
                    log(f"idle for {idle_exit_s:g} s, leaving")
                    break
        finally:
            for running in self.running.values():
                running.stop.set()
            for running in self.running.values():
                running.thread.join(timeout=10)
            self.lambdas.close()
            self._engine_stop.set()
            self._engine_thread.join(timeout=30)

    def _start_engine(self) -> None:
        self._engine_stop = threading.Event()
        self._engine_thread = threading.Thread(
            target=self.engine.run, args=(self._engine_stop,), name="batch-engine", daemon=True
        )
        self._engine_thread.start()
        self._engine_started = time.monotonic()

    def _keep_engine_running(self) -> None:
        """Start a new Batch engine when the engine thread died (its traceback is in the
        log; a full disk, say): it reloads the unfinished jobs, whose running attempts
        failed with the old engine as on a host termination."""
        if self._engine_thread.is_alive() or self._engine_stop.is_set():
            return
        if time.monotonic() - self._engine_started < ENGINE_RESTART_S:
            return
        from pipeline.local.batch.engine import BatchEngine

        log("the Batch engine stopped (traceback above): starting a new one")
        self.engine = BatchEngine(self.home)
        self._start_engine()

    def _poll(self, pid: int) -> bool:
        """Fire due scheduled rules, claim new executions and pass stop requests on; whether
        anything runs or waits."""
        self.rules.fire_due(self.start_scheduled)
        self._claim(pid)
        for arn in self.executions.stop_requested(pid):
            if arn in self.running:
                self.running[arn].stop.set()
        self.running = {a: r for a, r in self.running.items() if r.thread.is_alive()}
        return bool(self.running) or self.has_pending_work()

    def fail_orphans(self) -> None:
        """Fail the executions a dead runner left RUNNING and terminate their jobs.

        Called as this runner starts serving, when it holds the home's lock and runs
        nothing yet: any execution still claimed is an orphan, whatever pid claimed it (a
        pid may be reused)."""
        for record in self.executions.claimed_running():
            cause = (
                f"The local runner (pid {record.runner_pid}) stopped before the execution "
                "finished: start the execution again."
            )
            if self.executions.finish(record.arn, "FAILED", error=RUNNER_DIED, cause=cause):
                self.executions.terminate_jobs(record.arn, self._batch(record))

    def _batch(self, record: ExecutionRecord):
        return self.client("batch", region_of(record.arn))

    def _claim(self, pid: int) -> None:
        for arn in self.executions.unclaimed():
            if self.executions.claim(arn, pid):
                stop = threading.Event()
                thread = threading.Thread(
                    target=self.run_execution, args=(arn, stop), name=arn, daemon=True
                )
                self.running[arn] = RunningExecution(thread, stop)
                thread.start()

    def run_execution(self, arn: str, stop: threading.Event) -> None:
        """Interpret one execution to its end and record the outcome."""
        from pipeline.local.stepfunctions.asl import (
            ExecutionAborted,
            ExecutionFailed,
            ExecutionTimedOut,
            Interpreter,
        )
        from pipeline.local.stepfunctions.integrations import Integrations

        record = self.executions.get(arn)
        machine = self.executions.state_machine(record.state_machine_arn)
        batch = self._batch(record)
        execution_input = json.loads(record.input)
        context = {
            "Execution": {
                "Id": arn,
                "Name": record.name,
                "StartTime": datetime.fromtimestamp(record.start_ms / 1000, UTC).isoformat(),
                "Input": execution_input,
                "RoleArn": machine.role_arn,
            },
            "StateMachine": {"Id": machine.arn, "Name": machine.name},
        }
        interpreter = Interpreter(
            json.loads(machine.definition),
            Integrations(
                self.home, batch, lambda job: self.executions.add_job(arn, job), self.lambdas
            ),
            context=context,
            record=lambda kind, details: self.executions.record(arn, kind, details),
            time_scale=record.time_scale,
            stop=stop,
        )
        try:
            output = interpreter.run(execution_input)
        except ExecutionTimedOut as timeout:  # its jobs go as on a stop (ExecutionAborted)
            self.executions.terminate_jobs(arn, batch)
            ending = {"status": "TIMED_OUT", "error": timeout.error, "cause": timeout.cause}
        except ExecutionFailed as failure:
            ending = {"status": "FAILED", "error": failure.error, "cause": failure.cause}
        except ExecutionAborted:
            self.executions.terminate_jobs(arn, batch)
            return
        except sqlite3.OperationalError as error:  # the disk under N2N_HOME is full, say
            cause = (
                f"The local backend could not record the execution in {self.home} ({error}): "
                "free space there, then rerun it."
            )
            self._record_end(arn, "FAILED", error=RUNNER_DIED, cause=cause)
            self._retry_while_refused(
                f"terminate the jobs of {arn}", lambda: self.executions.terminate_jobs(arn, batch)
            )
            return
        except Exception as error:  # a bug must end the execution, never leave it RUNNING
            ending = {"status": "FAILED", "error": RUNNER_DIED, "cause": repr(error)}
        else:
            ending = {"status": "SUCCEEDED", "output": json.dumps(output)}
        self._record_end(arn, **ending)

    def _record_end(self, arn: str, status: str, **details: str) -> None:
        """Record how the execution ended: an execution whose thread is done never stays
        RUNNING under a live runner."""
        self._retry_while_refused(
            f"record the end of {arn}", lambda: self.executions.finish(arn, status, **details)
        )

    @staticmethod
    def _retry_while_refused(what: str, write: Callable[[], object]) -> None:
        """Run ``write``, retrying while SQLite refuses it (a full disk)."""
        delay = POLL_S
        while True:
            try:
                write()
                return
            except sqlite3.OperationalError as error:
                if delay == POLL_S:
                    log(f"cannot {what} ({error}): retrying until it can")
                time.sleep(delay)
                delay = min(delay * 2, RECORD_RETRY_MAX_S)


def serve(home: Path, stop: threading.Event, idle_exit_s: float | None = IDLE_EXIT_S) -> bool:
    """Run the engine and executions until ``stop`` is set or nothing ran for
    ``idle_exit_s`` seconds. Return False at once when another runner holds the lock.

    After an idle exit the locks are released first and the work queue checked again, so
    an execution started while the runner was leaving is never stranded.
    """
    home = Path(home)
    runner = None
    while True:
        lock = _lock(home / LOCK_FILE, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if lock is None:
            if runner is None:
                log(f"another runner holds {home / LOCK_FILE}: leaving it the work")
            return runner is not None
        log(f"serving {home}")
        with lock:
            lock.seek(0)
            lock.truncate()
            lock.write(str(os.getpid()))
            lock.flush()
            with _lock(home / ALIVE_FILE, fcntl.LOCK_SH):
                runner = runner or Runner(home)
                runner.serve(stop, idle_exit_s=idle_exit_s)
        if stop.is_set() or not runner.has_pending_work():
            log("stopped" if stop.is_set() else "nothing left to do, exiting")
            return True
        log("work arrived while leaving: serving again")


def main(argv: list[str] | None = None) -> int:
    """``python -m pipeline.local.runner --home DIR``."""
    parser = argparse.ArgumentParser(prog="python -m pipeline.local.runner")
    parser.add_argument("--home", required=True, type=Path)
    args = parser.parse_args(argv)
    os.environ["N2N_HOME"] = str(args.home)
    start_forkserver()
    idle_exit_s = float(os.environ.get("N2N_RUNNER_IDLE_S") or IDLE_EXIT_S)
    serve(args.home, threading.Event(), idle_exit_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
