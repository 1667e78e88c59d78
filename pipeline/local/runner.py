"""The background runner: one detached process per ``N2N_HOME`` that runs the local Batch
engine and the state machine executions, and outlives the notebook cell or CLI call
that started them.

Each execution runs the interpreter in its own thread, with the template's Lambdas called
in-process (their boto3 clients routed to the local backend) and Batch jobs submitted to
the local engine, which runs in a thread of the same process.

Two lock files: runners compete for ``runner.lock`` (one runner per home), and a live
runner holds a shared lock on ``runner.alive`` that anyone may test without getting in a
starting runner's way. A new runner first fails the executions a dead runner left RUNNING.
``ensure_runner(home)`` starts one unless one is alive; ``serve(home, stop)`` is the
runner's body (tests may run it in a thread).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from botocore.exceptions import ClientError

from pipeline import clients
from pipeline.local import local_client
from pipeline.local.batch.engine import BatchEngine
from pipeline.local.core.arns import DEFAULT_REGION, region_of
from pipeline.local.events.rules import Rules, Target
from pipeline.local.stepfunctions.asl import ExecutionAborted, ExecutionFailed, Interpreter
from pipeline.local.stepfunctions.executions import RUNNER_DIED, ExecutionRecord, Executions
from pipeline.local.stepfunctions.integrations import Integrations

LOCK_FILE = "runner.lock"
ALIVE_FILE = "runner.alive"
LOG_FILE = "runner.log"
IDLE_EXIT_S = 30.0
"""How long an idle runner lingers before it exits (``N2N_RUNNER_IDLE_S`` overrides)."""
POLL_S = 0.05
START_TIMEOUT_S = 10.0


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
    deadline = time.monotonic() + START_TIMEOUT_S
    while not runner_alive(home) and time.monotonic() < deadline:
        time.sleep(0.02)


@dataclass
class RunningExecution:
    """An execution this runner is interpreting."""

    thread: threading.Thread
    stop: threading.Event


class Runner:
    """The engine and the executions of one ``N2N_HOME``."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.executions = Executions(self.home)
        self.engine = BatchEngine(self.home)
        self.rules = Rules(self.home)
        self.running: dict[str, RunningExecution] = {}

    def client(self, service: str, region: str | None = None):
        """A local client for the code running inside this runner: in ``region``, else in
        the region a Lambda handler runs in (``AWS_REGION``, as Lambda sets it)."""
        region = region or os.environ.get("AWS_REGION") or DEFAULT_REGION
        return local_client(service, self.home, region)

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
            print(f"Scheduled start of {target.arn} failed: {error}", file=sys.stderr, flush=True)

    def serve(self, stop: threading.Event, idle_exit_s: float | None) -> None:
        """Run until ``stop`` is set or nothing happened for ``idle_exit_s`` seconds."""
        clients.set_client_factory(self.client)
        engine_stop = threading.Event()
        engine = threading.Thread(target=self.engine.run, args=(engine_stop,), daemon=True)
        engine.start()
        idle_since = time.monotonic()
        pid = os.getpid()
        self.fail_orphans()
        try:
            while not stop.wait(POLL_S):
                self.rules.fire_due(self.start_scheduled)
                self._claim(pid)
                for arn in self.executions.stop_requested(pid):
                    if arn in self.running:
                        self.running[arn].stop.set()
                self.running = {a: r for a, r in self.running.items() if r.thread.is_alive()}
                if self.running or self.has_pending_work():
                    idle_since = time.monotonic()
                elif idle_exit_s is not None and time.monotonic() - idle_since > idle_exit_s:
                    break
        finally:
            for running in self.running.values():
                running.stop.set()
            for running in self.running.values():
                running.thread.join(timeout=10)
            engine_stop.set()
            engine.join(timeout=30)
            clients.set_client_factory(None)

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
            Integrations(self.home, batch, lambda job: self.executions.add_job(arn, job)),
            context=context,
            record=lambda kind, details: self.executions.record(arn, kind, details),
            time_scale=record.time_scale,
            stop=stop,
        )
        try:
            output = interpreter.run(execution_input)
        except ExecutionFailed as failure:
            self.executions.finish(arn, "FAILED", error=failure.error, cause=failure.cause)
        except ExecutionAborted:
            self.executions.terminate_jobs(arn, batch)
        except Exception as error:  # a bug must end the execution, never leave it RUNNING
            self.executions.finish(arn, "FAILED", error=RUNNER_DIED, cause=repr(error))
        else:
            self.executions.finish(arn, "SUCCEEDED", output=json.dumps(output))


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
            return runner is not None
        with lock:
            lock.seek(0)
            lock.truncate()
            lock.write(str(os.getpid()))
            lock.flush()
            with _lock(home / ALIVE_FILE, fcntl.LOCK_SH):
                runner = runner or Runner(home)
                runner.serve(stop, idle_exit_s=idle_exit_s)
        if stop.is_set() or not runner.has_pending_work():
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
