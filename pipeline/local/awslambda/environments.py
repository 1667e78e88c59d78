"""Lambda execution environments: each function's handler runs in its own process, as on
Lambda, so invocations of different executions run side by side and one that hangs is
stopped at the function's ``Timeout`` without holding up the others.

An environment is a process forked from the local backend's forkserver with the function's
environment variables set once; it serves one invocation at a time and is kept warm for
the next (Lambda reuses an environment between invocations). An invocation that outlives
the function's ``Timeout`` fails with ``Sandbox.Timedout`` and its environment is
destroyed, as Lambda does
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html#runtimes-lifecycle-invoke-with-errors).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import threading
import time
import traceback
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pipeline.local.awslambda.functions import (
    LambdaFailed,
    LocalFunction,
    reserved_environment,
    resolve_handler,
)
from pipeline.local.batch import pool

TIMED_OUT = "Sandbox.Timedout"
EXITED = "Runtime.ExitError"


def _context(function: LocalFunction, request_id: str, deadline: float) -> SimpleNamespace:
    return SimpleNamespace(
        function_name=function.name,
        function_version="$LATEST",
        invoked_function_arn=function.arn,
        memory_limit_in_mb=128,
        aws_request_id=request_id,
        log_group_name=f"/aws/lambda/{function.name}",
        get_remaining_time_in_millis=lambda: max(0, int((deadline - time.time()) * 1000)),
    )


def _serve(connection: Connection, function: LocalFunction, environment: dict[str, str]) -> None:
    """An environment's body: answer invocations from the connection until it closes."""
    from pipeline import clients
    from pipeline.local.worker_clients import environment_clients

    os.environ.update(environment)
    clients.set_client_factory(environment_clients(os.environ))
    handler = None
    while True:
        try:
            event, request_id, deadline = connection.recv()
        except (EOFError, OSError):
            return
        try:
            handler = handler or resolve_handler(function.handler)
            result = handler(json.loads(event), _context(function, request_id, deadline))
            connection.send(("ok", json.dumps(result)))
        except Exception as error:  # every handler error becomes Lambda's error payload
            stack = traceback.format_exception(error)[1:]
            connection.send(("error", type(error).__name__, str(error), stack))


def _exit_status(code: int | None) -> str:
    """Lambda's words for how a runtime process ended ("signal: killed", "exit status 1")."""
    if code is not None and code < 0:
        return f"signal: {signal.strsignal(-code).lower()}"
    return f"exit status {code}"


class _Environment:
    """One environment process and its end of the pipe."""

    def __init__(self, function: LocalFunction, environment: dict[str, str]) -> None:
        context = multiprocessing.get_context(pool.START_METHOD)
        context.set_forkserver_preload([pool.__name__, *pool.PRELOAD])
        self.connection, theirs = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(theirs, function, environment), daemon=True
        )
        self.process.start()
        theirs.close()

    def destroy(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()


class Environments:
    """The warm environments of the functions one runner invokes."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self._idle: dict[tuple[str, str], list[_Environment]] = {}
        self._lock = threading.Lock()

    def _environment_of(self, function: LocalFunction) -> dict[str, str]:
        from pipeline.local.worker_clients import worker_environment

        return {
            **worker_environment(self.home),
            **reserved_environment(function),
            **function.environment,
        }

    def invoke(self, function: LocalFunction, payload: Any) -> Any:
        """Run the handler on a JSON copy of ``payload`` in a free environment; return its
        JSON result, or raise :class:`LambdaFailed` with Lambda's error payload."""
        environment = self._environment_of(function)
        key = (function.arn, json.dumps([function.handler, environment], sort_keys=True))
        with self._lock:
            idle = self._idle.setdefault(key, [])
            env = idle.pop() if idle else None
        env = env or _Environment(function, environment)
        request_id = str(uuid.uuid4())
        env.connection.send((json.dumps(payload), request_id, time.time() + function.timeout_s))
        if not env.connection.poll(function.timeout_s):
            env.destroy()
            self._fail(
                TIMED_OUT,
                f"RequestId: {request_id} Error: Task timed out after "
                f"{function.timeout_s:.2f} seconds",
                request_id,
            )
        try:
            answer = env.connection.recv()
        except (EOFError, OSError):
            env.destroy()
            self._fail(
                EXITED,
                f"RequestId: {request_id} Error: Runtime exited with error: "
                f"{_exit_status(env.process.exitcode)}",
                request_id,
            )
        with self._lock:
            self._idle[key].append(env)
        if answer[0] == "ok":
            return json.loads(answer[1])
        _, error_type, message, stack = answer
        self._fail(error_type, message, request_id, stack)

    @staticmethod
    def _fail(error_type: str, message: str, request_id: str, stack: list[str] = ()) -> None:
        cause = {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": request_id,
            "stackTrace": list(stack),
        }
        raise LambdaFailed(error_type, json.dumps(cause))

    def close(self) -> None:
        """Destroy every idle environment."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for envs in idle.values():
            for env in envs:
                env.destroy()
