"""Starting a run and finding one: a stack's outputs, its state machine, its newest
execution, and the stack an execution belongs to."""

from __future__ import annotations

import json
from typing import Any

from pipeline.runs.state import RunError, describe_execution
from pipeline.spec import RunSpec


def stack_outputs(conn: Any, stack: str) -> dict[str, str]:
    """The stack's outputs by key; one sentence when the stack does not exist."""
    try:
        stacks = conn.cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except conn.cloudformation.exceptions.ClientError as error:
        # DescribeStacks answers a missing stack with ValidationError, the code botocore's
        # own stack_exists waiter reads as "not there yet".
        if error.response["Error"]["Code"] == "ValidationError":
            raise RunError(
                f"Stack {stack} does not exist: deploy it first with `n2n deploy --stack {stack}`."
            ) from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def state_machine_arn(conn: Any, stack: str) -> str:
    """The stack's state machine."""
    return stack_outputs(conn, stack)["StateMachineArn"]


def start_run(conn: Any, stack: str, spec: RunSpec, name: str | None = None) -> str:
    """Start one execution of the stack's state machine; return its ARN."""
    params = {
        "stateMachineArn": state_machine_arn(conn, stack),
        "input": json.dumps(spec.to_input()),
    }
    if name:
        params["name"] = name
    return conn.sfn.start_execution(**params)["executionArn"]


def latest_execution(conn: Any, stack: str) -> str:
    """The ARN of the stack's newest execution."""
    page = conn.sfn.list_executions(stateMachineArn=state_machine_arn(conn, stack), maxResults=1)
    if not page["executions"]:
        raise RunError(f"Stack {stack} has no executions yet: start one with `n2n run`.")
    return page["executions"][0]["executionArn"]


def execution_outputs(conn: Any, arn: str) -> dict[str, str]:
    """The outputs of the stack whose state machine ran execution ``arn``: a run is named
    by its ARN alone."""
    return _outputs(execution_stack(conn, arn))


def _outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def execution_stack(conn: Any, arn: str) -> dict[str, Any]:
    """The description of the stack whose state machine ran execution ``arn``."""
    machine = describe_execution(conn, arn)["stateMachineArn"]
    for page in conn.cloudformation.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            if _outputs(stack).get("StateMachineArn") == machine:
                return stack
    raise RunError(
        f"No stack of this backend and region owns {machine}, the state machine of "
        f"execution {arn}: was its stack deleted?"
    )
