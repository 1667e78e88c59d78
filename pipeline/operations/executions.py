"""Finding the execution an operation is about: by ARN or the stack's latest, with one
sentence when it does not exist."""

from __future__ import annotations

from typing import Any

from pipeline.errors import N2NError
from pipeline.runs import RunState, latest_execution, run_state

UNKNOWN = frozenset({"ExecutionDoesNotExist", "InvalidArn"})


class ExecutionNotFound(N2NError):
    """The named execution does not exist."""


def execution_arn(conn: Any, stack: str, arn: str | None, latest: bool) -> str:
    """The execution an operation names: its ARN, or with ``latest`` the stack's newest."""
    if bool(arn) == bool(latest):
        raise N2NError("Name one execution: give its ARN or --latest.")
    return arn or latest_execution(conn, stack)


def find_run(conn: Any, arn: str) -> RunState:
    """The execution's :class:`RunState`; one sentence when there is no such execution."""
    try:
        return run_state(conn, arn)
    except conn.sfn.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in UNKNOWN:
            raise ExecutionNotFound(
                f"There is no execution {arn}: check the ARN (`n2n status --latest` shows "
                "the newest) and the backend."
            ) from None
        raise
