"""Lambda execution environments: the function's Timeout holds, one hung invocation does
not hold up another, each function sees its own variables, a killed runtime is an error."""

from __future__ import annotations

import json
import os
import signal
import threading

import pytest

from pipeline.local.awslambda.environments import Environments
from pipeline.local.awslambda.functions import LambdaFailed, LocalFunction
from tests.waiting import wait_for

ARN = "arn:aws:lambda:us-east-1:000000000000:function:"
HANDLERS = "tests.local.awslambda.handlers"


def function(name: str, handler: str, timeout_s: int = 60, **environment: str) -> LocalFunction:
    return LocalFunction(name, ARN + name, f"{HANDLERS}.{handler}", environment, timeout_s)


@pytest.fixture
def environments(n2n_home):
    envs = Environments(n2n_home)
    yield envs
    envs.close()


def test_a_handler_gets_its_event_variables_and_region(environments):
    result = environments.invoke(function("echo", "echo", GREETING="hi"), {"n": 1})
    assert result == {
        "event": {"n": 1},
        "greeting": "hi",
        "region": "us-east-1",
        "name": "echo",
        "remaining_ms_positive": True,
    }


def test_two_functions_see_their_own_variables_side_by_side(environments):
    first = function("first", "echo", GREETING="one")
    second = function("second", "echo", GREETING="two")
    assert environments.invoke(first, {})["greeting"] == "one"
    assert environments.invoke(second, {})["greeting"] == "two"
    assert environments.invoke(first, {})["greeting"] == "one"


def test_an_invocation_past_the_timeout_fails_as_lambda_says(environments):
    with pytest.raises(LambdaFailed) as failed:
        environments.invoke(function("hang", "hang", timeout_s=1), {})
    assert failed.value.error == "Sandbox.Timedout"
    cause = json.loads(failed.value.cause)
    assert cause["errorType"] == "Sandbox.Timedout"
    assert cause["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")


def test_a_hung_handler_does_not_hold_up_another_invocation(environments, tmp_path):
    """While one invocation hangs (until its 60 s timeout), another one completes."""
    marker = tmp_path / "hung"
    outcome: list[str] = []

    def hung() -> None:
        try:
            environments.invoke(function("hang", "hang", MARKER=str(marker)), {})
        except LambdaFailed as failure:
            outcome.append(failure.error)

    thread = threading.Thread(target=hung)
    thread.start()
    pid = int(wait_for(lambda: marker.exists() and marker.read_text(), bool))
    assert environments.invoke(function("echo", "echo", GREETING="free"), {})["greeting"] == (
        "free"
    )
    assert thread.is_alive() and outcome == []
    os.kill(pid, signal.SIGKILL)
    thread.join()
    assert outcome == ["Runtime.ExitError"]


def test_a_handler_error_is_lambdas_error_payload(environments):
    with pytest.raises(LambdaFailed) as failed:
        environments.invoke(function("boom", "boom"), {})
    assert failed.value.error == "ValueError"
    cause = json.loads(failed.value.cause)
    assert (cause["errorType"], cause["errorMessage"]) == ("ValueError", "bad input")
    assert any("raise ValueError" in line for line in cause["stackTrace"])


def test_a_killed_runtime_fails_the_invocation_and_the_next_one_gets_a_fresh_one(
    environments, tmp_path
):
    marker = tmp_path / "pid"
    hang = function("hang", "hang", MARKER=str(marker))
    errors: list[LambdaFailed] = []

    def invoke() -> None:
        try:
            environments.invoke(hang, {})
        except LambdaFailed as failure:
            errors.append(failure)

    thread = threading.Thread(target=invoke)
    thread.start()
    pid = int(wait_for(lambda: marker.exists() and marker.read_text(), bool))
    os.kill(pid, signal.SIGKILL)
    thread.join()
    assert errors[0].error == "Runtime.ExitError"
    assert json.loads(errors[0].cause)["errorMessage"].endswith(
        "Error: Runtime exited with error: signal: killed"
    )
    assert environments.invoke(function("echo", "echo", GREETING="again"), {})["greeting"] == (
        "again"
    )
