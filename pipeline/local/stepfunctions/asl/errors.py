"""The interpreter's exceptions and the ASL error names that Retry and Catch match."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.errors import N2NError

ALL = "States.ALL"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
RUNTIME = "States.Runtime"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
# Terminal errors: no Retry or Catch sees them, not even States.ALL.
UNCATCHABLE = frozenset({RUNTIME, "States.DataLimitExceeded"})


class UnsupportedDefinition(N2NError):
    """A state machine definition the local backend cannot run, rejected at deploy time."""


class StatesError(Exception):
    """An ASL error (a name and a cause) raised while a state runs; Retry and Catch see it."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


class TaskFailed(StatesError):
    """Raised by an integration: the task failed with ``error`` (``Lambda.ServiceException``...)."""


class RuntimeFailure(StatesError):
    """``States.Runtime``: a path or intrinsic could not be applied; fails the execution."""

    def __init__(self, cause: str) -> None:
        super().__init__(RUNTIME, cause)


class ExecutionFailed(Exception):
    """Raised by ``Interpreter.run`` when the execution fails with ``error`` and ``cause``."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


class ExecutionTimedOut(ExecutionFailed):
    """Raised by ``Interpreter.run`` when the execution outlived the state machine's top-level
    ``TimeoutSeconds`` (status ``TIMED_OUT``, error ``States.Timeout``)."""


class ExecutionAborted(Exception):
    """Raised by ``Interpreter.run`` when a stop was requested; also unwinds running states."""


def error_matches(error_equals: Iterable[str], error: str) -> bool:
    """Whether a Retrier's or Catcher's ``ErrorEquals`` list matches ``error``."""
    if error in UNCATCHABLE:
        return False
    for name in error_equals:
        if name in (ALL, error):
            return True
        if name == TASK_FAILED and error not in (TIMEOUT, HEARTBEAT_TIMEOUT):
            return True
        if name == TIMEOUT and error == HEARTBEAT_TIMEOUT:
            return True
    return False
