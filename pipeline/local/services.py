"""What the background runner serves: the local Batch engine and the executions.

Each execution runs the interpreter in its own thread, with the template's Lambdas
called in-process (their boto3 clients routed to the local backend) and Batch jobs
submitted to the local engine, which runs in a thread of the same process.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline import clients
from pipeline.local.clients import local_client
from pipeline.local.integrations import Integrations
from pipeline.local.stepfunctions.asl import ExecutionAborted, ExecutionFailed, Interpreter
from pipeline.local.stepfunctions.executions import RUNNER_DIED, Executions

POLL_S = 0.05


@dataclass
class RunningExecution:
    """An execution this runner is interpreting."""

    thread: threading.Thread
    stop: threading.Event


class LocalServices:
    """The engine and the executions of one ``N2N_HOME``."""

    def __init__(self, home: Path) -> None:
        from pipeline.local.batch.engine import BatchEngine

        self.home = Path(home)
        self.executions = Executions(self.home)
        self.engine = BatchEngine(self.home)
        self.running: dict[str, RunningExecution] = {}

    def client(self, service: str):
        """A local client for the code running inside this runner."""
        return local_client(service, self.home)

    def has_pending_work(self) -> bool:
        """Whether an execution waits to be claimed or a Batch job can still change."""
        return bool(self.executions.unclaimed()) or self.engine.busy()

    def serve(self, stop: threading.Event, idle_exit_s: float | None) -> None:
        """Run until ``stop`` is set or nothing happened for ``idle_exit_s`` seconds."""
        clients.set_client_factory(self.client)
        engine_stop = threading.Event()
        engine = threading.Thread(target=self.engine.run, args=(engine_stop,), daemon=True)
        engine.start()
        idle_since = time.monotonic()
        pid = os.getpid()
        try:
            while not stop.wait(POLL_S):
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
        batch = self.client("batch")
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
