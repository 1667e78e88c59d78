"""The state loop: every state type, Retry/Catch, timeouts, stop, and history events that
validate against botocore's GetExecutionHistory shape."""

import datetime as dt
import threading
import time

import boto3
import pytest
from botocore.stub import Stubber

from pipeline.local.stepfunctions.asl import (
    ExecutionAborted,
    ExecutionFailed,
    ExecutionTimedOut,
    Interpreter,
    TaskFailed,
    details_key,
)
from pipeline.local.stepfunctions.asl.cancellation import Cancellation
from pipeline.local.stepfunctions.asl.interpreter import retry_delay

EXECUTION_ARN = "arn:aws:states:eu-west-1:000000000000:execution:n2n:run-1"
CONTEXT = {
    "Execution": {
        "Id": EXECUTION_ARN,
        "Name": "run-1",
        "StartTime": "2024-05-01T12:00:00Z",
        "Input": {},
        "RoleArn": "arn:aws:iam::000000000000:role/n2n",
    },
    "StateMachine": {"Id": "arn:aws:states:eu-west-1:000000000000:stateMachine:n2n", "Name": "n2n"},
}
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:000000000000:function:prepare"


class Run:
    """One execution with recorded events."""

    def __init__(self, definition, invoke=None, **options):
        self.events = []
        options.setdefault("time_scale", 0.001)
        options.setdefault("context", CONTEXT)
        self.interpreter = Interpreter(
            definition,
            invoke or (lambda resource, params: params),
            record=lambda kind, details: self.events.append((kind, details)),
            **options,
        )

    def __call__(self, execution_input=None):
        return self.interpreter.run({} if execution_input is None else execution_input)

    def types(self):
        return [kind for kind, _ in self.events]

    def details(self, kind):
        return [details for event, details in self.events if event == kind]


WAIT_S = 30  # a deadline for waits on events: a broken interpreter fails, never hangs


@pytest.fixture
def sleeps(monkeypatch):
    """The compressed durations the interpreter asks to sleep, recorded instead of slept."""
    asked = []

    def record(self, seconds):
        asked.append(seconds)
        return self.is_set()

    monkeypatch.setattr(Cancellation, "sleep", record)
    return asked


def when(condition, action) -> threading.Thread:
    """Run ``action`` once ``condition()`` holds; fail if it does not within WAIT_S."""
    deadline = time.monotonic() + WAIT_S

    def watch():
        while not condition():
            assert time.monotonic() < deadline, "the condition never held"
            time.sleep(0.005)
        action()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def machine(*states, **extra):
    """A definition chaining ``states`` (name, state) with Next, the last one End."""
    named = {}
    for i, (name, state) in enumerate(states):
        state = dict(state)
        if state["Type"] not in ("Choice", "Succeed", "Fail") and "Next" not in state:
            if i + 1 < len(states):
                state["Next"] = states[i + 1][0]
            else:
                state["End"] = True
        named[name] = state
    return {"StartAt": states[0][0], "States": named, **extra}


def failing(times, error="Custom.Error", result="ok"):
    """An integration failing ``times`` times with ``error``, then returning ``result``."""
    calls = []

    def invoke(resource, params):
        calls.append(params)
        if len(calls) <= times:
            raise TaskFailed(error, f"attempt {len(calls)}")
        return result

    invoke.calls = calls
    return invoke


# -- Pass, data flow, context object --------------------------------------------------------


@pytest.mark.parametrize(
    ("start_time", "documented"),
    [
        # AWS writes context times in UTC with a Z, three fraction digits, none when the
        # fraction is zero: "2025-08-27T10:04:42Z", "2025-08-27T10:04:42.001Z"
        # (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html).
        ("2025-08-27T10:04:42+00:00", "2025-08-27T10:04:42Z"),
        ("2025-08-27T10:04:42.001000+00:00", "2025-08-27T10:04:42.001Z"),
        ("2025-08-27T12:04:42.120+02:00", "2025-08-27T10:04:42.120Z"),
        ("2025-08-27T10:04:42.999900Z", "2025-08-27T10:04:43Z"),
        ("2025-08-27T10:04:42.000499Z", "2025-08-27T10:04:42Z"),
    ],
)
def test_execution_start_time_in_the_documented_form(start_time, documented):
    context = {**CONTEXT, "Execution": {**CONTEXT["Execution"], "StartTime": start_time}}
    definition = machine(("P", {"Type": "Pass", "Parameters": {"t.$": "$$.Execution.StartTime"}}))
    assert Run(definition, context=context)() == {"t": documented}


def test_pass_parameters_result_path_and_context():
    run = Run(
        machine(
            (
                "Shape",
                {
                    "Type": "Pass",
                    "InputPath": "$.in",
                    "Parameters": {
                        "value.$": "$.v",
                        "name.$": "$$.Execution.Name",
                        "id.$": "$$.Execution.Id",
                        "start.$": "$$.Execution.StartTime",
                        "state.$": "$$.State.Name",
                        "entered.$": "$$.State.EnteredTime",
                        "machine.$": "$$.StateMachine.Name",
                    },
                    "ResultPath": "$.out.shaped",
                },
            ),
            ("Fixed", {"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.fixed"}),
            (
                "Drop",
                {"Type": "Pass", "Result": "ignored", "ResultPath": None, "OutputPath": "$.out"},
            ),
        )
    )
    output = run({"in": {"v": 42}})
    shaped = output["shaped"]
    assert shaped["value"] == 42
    assert (shaped["name"], shaped["id"], shaped["machine"]) == ("run-1", EXECUTION_ARN, "n2n")
    assert (shaped["start"], shaped["state"]) == ("2024-05-01T12:00:00Z", "Shape")
    assert dt.datetime.fromisoformat(shaped["entered"]).tzinfo is not None
    assert run.types() == [
        "ExecutionStarted",
        *["PassStateEntered", "PassStateExited"] * 3,
        "ExecutionSucceeded",
    ]
    assert run.details("PassStateEntered")[0] == {
        "name": "Shape",
        "input": '{"in":{"v":42}}',
        "inputDetails": {"truncated": False},
    }


def test_output_path_null_and_input_path_null():
    run = Run(machine(("A", {"Type": "Pass", "InputPath": None, "OutputPath": None})))
    assert run({"x": 1}) == {}


def test_bad_path_fails_with_states_runtime_and_is_not_caught():
    run = Run(
        machine(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE,
                    "InputPath": "$.missing",
                    "Retry": [{"ErrorEquals": ["States.ALL"]}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                },
            ),
            ("Caught", {"Type": "Succeed"}),
        )
    )
    with pytest.raises(ExecutionFailed) as caught:
        run({"x": 1})
    assert caught.value.error == "States.Runtime"
    assert "$.missing" in caught.value.cause
    assert run.types()[-1] == "ExecutionFailed"


# -- Task -----------------------------------------------------------------------------------


def test_lambda_invoke_task_events_and_result_processing():
    def invoke(resource, params):
        assert resource == LAMBDA_INVOKE
        return {
            "ExecutedVersion": "$LATEST",
            "Payload": {"n": params["Payload"]["n"] * 2},
            "StatusCode": 200,
        }

    run = Run(
        machine(
            (
                "Prepare",
                {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE,
                    "Parameters": {"FunctionName": "prepare", "Payload": {"n.$": "$.n"}},
                    "ResultSelector": {"doubled.$": "$.Payload.n"},
                    "ResultPath": "$.prepared",
                    "TimeoutSeconds": 30,
                },
            )
        ),
        invoke,
    )
    assert run({"n": 21}) == {"n": 21, "prepared": {"doubled": 42}}
    assert run.types() == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert run.details("TaskScheduled") == [
        {
            "resourceType": "lambda",
            "resource": "invoke",
            "region": "eu-west-1",
            "parameters": '{"FunctionName":"prepare","Payload":{"n":21}}',
            "timeoutInSeconds": 30,
        }
    ]
    assert run.details("TaskSucceeded")[0]["resourceType"] == "lambda"


def test_plain_lambda_arn_uses_lambda_function_events():
    run = Run(
        machine(("Fn", {"Type": "Task", "Resource": FUNCTION_ARN})),
        failing(1, "Lambda.ServiceException"),
    )
    with pytest.raises(ExecutionFailed) as caught:
        run({"a": 1})
    assert (caught.value.error, caught.value.cause) == ("Lambda.ServiceException", "attempt 1")
    assert run.types() == [
        "ExecutionStarted",
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionFailed",
        "ExecutionFailed",
    ]
    assert run.details("LambdaFunctionScheduled")[0]["resource"] == FUNCTION_ARN
    assert run.details("ExecutionFailed") == [
        {"error": "Lambda.ServiceException", "cause": "attempt 1"}
    ]


def test_sync_resource_names_in_history():
    run = Run(
        machine(("Job", {"Type": "Task", "Resource": "arn:aws:states:::batch:submitJob.sync"}))
    )
    run({})
    assert run.details("TaskStarted") == [{"resourceType": "batch", "resource": "submitJob.sync"}]


def test_unexpected_integration_exception_is_named_after_its_type():
    def invoke(resource, params):
        raise KeyError("boom")

    run = Run(machine(("T", {"Type": "Task", "Resource": LAMBDA_INVOKE})), invoke)
    with pytest.raises(ExecutionFailed) as caught:
        run()
    assert caught.value.error == "KeyError"


def test_timeout_seconds_times_out_and_is_caught_by_states_timeout():
    release, finished = threading.Event(), []

    def invoke(resource, params):
        release.wait(WAIT_S)
        finished.append(resource)
        return "late"

    run = Run(
        machine(
            (
                "Slow",
                {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::batch:submitJob.sync",
                    "TimeoutSeconds": 1,
                    "Retry": [{"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 5}],
                    "Catch": [
                        {
                            "ErrorEquals": ["States.Timeout"],
                            "ResultPath": "$.error",
                            "Next": "Timed",
                        }
                    ],
                },
            ),
            ("Timed", {"Type": "Pass"}),
        ),
        invoke,
    )
    output = run({"k": 1})
    assert finished == []  # the state timed out while its task was still running
    release.set()
    assert output["error"]["Error"] == "States.Timeout"
    assert run.types().count("TaskScheduled") == 1  # States.TaskFailed does not match a timeout
    assert run.details("TaskTimedOut")[0]["error"] == "States.Timeout"


# -- Retry and Catch ------------------------------------------------------------------------


def test_retry_until_success_counts_attempts_and_retry_count():
    invoke = failing(2)
    run = Run(
        machine(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE,
                    "Parameters": {"retry.$": "$$.State.RetryCount"},
                    "Retry": [
                        {"ErrorEquals": ["Custom.Error"], "MaxAttempts": 2, "IntervalSeconds": 1}
                    ],
                },
            )
        ),
        invoke,
    )
    assert run() == "ok"
    assert [call["retry"] for call in invoke.calls] == [0, 1, 2]
    assert run.types().count("TaskFailed") == 2
    assert run.types().count("TaskScheduled") == 3


@pytest.mark.parametrize(("max_attempts", "schedules"), [(0, 1), (1, 2), (3, 4)])
def test_retry_exhausted_fails(max_attempts, schedules):
    run = Run(
        machine(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE,
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": max_attempts}],
                },
            )
        ),
        failing(99),
    )
    with pytest.raises(ExecutionFailed):
        run()
    assert run.types().count("TaskScheduled") == schedules


def test_first_matching_retrier_is_used_and_has_its_own_count():
    invoke = failing(99, error="Batch.Client")
    run = Run(
        machine(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE,
                    "Retry": [
                        {"ErrorEquals": ["Other"], "MaxAttempts": 5},
                        {"ErrorEquals": ["Batch.Client", "Another"], "MaxAttempts": 1},
                        {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5},
                    ],
                },
            )
        ),
        invoke,
    )
    with pytest.raises(ExecutionFailed):
        run()
    assert len(invoke.calls) == 2


@pytest.mark.parametrize(
    ("retrier", "retries", "expected"),
    [
        ({}, 0, 1.0),
        ({}, 2, 4.0),
        ({"IntervalSeconds": 3, "BackoffRate": 1.5}, 2, 6.75),
        ({"IntervalSeconds": 10, "BackoffRate": 2, "MaxDelaySeconds": 30}, 3, 30),
    ],
)
def test_retry_backoff(retrier, retries, expected):
    assert retry_delay(retrier, retries) == pytest.approx(expected)


def test_full_jitter_stays_under_the_delay():
    delays = [retry_delay({"IntervalSeconds": 4, "JitterStrategy": "FULL"}, 1) for _ in range(50)]
    assert all(0 <= d <= 8 for d in delays) and len(set(delays)) > 1


def test_retry_intervals_are_compressed_by_time_scale(sleeps):
    run = Run(
        machine(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE,
                    "Retry": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "IntervalSeconds": 10,
                            "BackoffRate": 2,
                            "MaxAttempts": 2,
                        }
                    ],
                },
            )
        ),
        failing(2),
        time_scale=0.01,
    )
    run()
    assert sleeps == [pytest.approx(0.1), pytest.approx(0.2)]  # (10, then 20) s at 0.01


def test_catch_result_path_and_default():
    run = Run(
        machine(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE,
                    "InputPath": "$.sub",
                    "Catch": [
                        {"ErrorEquals": ["Nope"], "Next": "Wrong"},
                        {
                            "ErrorEquals": ["States.TaskFailed"],
                            "ResultPath": "$.error",
                            "Next": "Handled",
                        },
                    ],
                },
            ),
            ("Wrong", {"Type": "Fail", "Error": "Wrong"}),
            ("Handled", {"Type": "Pass", "End": True}),
        ),
        failing(1, "InvalidRunInput"),
    )
    assert run({"sub": {}, "keep": 1}) == {
        "sub": {},
        "keep": 1,
        "error": {"Error": "InvalidRunInput", "Cause": "attempt 1"},
    }
    assert run.types()[4:7] == ["TaskFailed", "TaskStateExited", "PassStateEntered"]

    default = Run(
        machine(
            (
                "T",
                {
                    "Type": "Task",
                    "Resource": LAMBDA_INVOKE,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}],
                },
            ),
            ("H", {"Type": "Pass", "End": True}),
        ),
        failing(1, "States.Permissions"),
    )
    assert default({"x": 1}) == {"Error": "States.Permissions", "Cause": "attempt 1"}


# -- Wait, Choice, Succeed, Fail ------------------------------------------------------------


@pytest.mark.parametrize(
    "wait",
    [
        {"Seconds": 20},
        {"SecondsPath": "$.seconds"},
        {"Timestamp": "2000-01-01T00:00:00Z"},
        {"TimestampPath": "$.at"},
    ],
)
def test_wait_variants_are_compressed(wait, sleeps):
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = Run(machine(("W", {"Type": "Wait", **wait})), time_scale=0.01)
    assert run({"seconds": 20, "at": at}) == {"seconds": 20, "at": at}
    (slept,) = sleeps
    if "Timestamp" in wait:  # a moment in the past: no wait
        assert slept == 0
    elif "TimestampPath" in wait:  # up to 20 s from now (the text has whole seconds)
        assert 0 < slept <= 0.2
    else:
        assert slept == pytest.approx(0.2)
    assert run.types()[1:3] == ["WaitStateEntered", "WaitStateExited"]


def test_wait_is_capped_by_max_wait(sleeps):
    run = Run(machine(("W", {"Type": "Wait", "Seconds": 86400})), time_scale=1, max_wait_s=0.05)
    run()
    assert sleeps == [0.05]


def test_wait_seconds_path_must_be_a_number():
    run = Run(machine(("W", {"Type": "Wait", "SecondsPath": "$.s"})))
    with pytest.raises(ExecutionFailed, match=r"States\.Runtime"):
        run({"s": "ten"})


CHOICE = machine(
    (
        "Route",
        {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
                {
                    "And": [
                        {"Variable": "$.n", "IsPresent": True},
                        {"Variable": "$.n", "NumericEquals": 0},
                    ],
                    "Next": "Zero",
                },
            ],
            "Default": "Small",
        },
    ),
    ("Big", {"Type": "Pass", "Result": "big", "End": True}),
    ("Zero", {"Type": "Succeed", "OutputPath": "$.n"}),
    ("Small", {"Type": "Pass", "Result": "small", "End": True}),
)


@pytest.mark.parametrize(("n", "expected"), [(11, "big"), (0, 0), (5, "small")])
def test_choice_routes(n, expected):
    run = Run(CHOICE)
    assert run({"n": n}) == expected
    assert run.types()[1:3] == ["ChoiceStateEntered", "ChoiceStateExited"]


def test_choice_without_match_or_default_fails():
    definition = machine(
        (
            "C",
            {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "E"}]},
        ),
        ("E", {"Type": "Succeed"}),
    )
    with pytest.raises(ExecutionFailed) as caught:
        Run(definition)({"n": 2})
    assert caught.value.error == "States.NoChoiceMatched"


def test_fail_with_error_and_cause():
    run = Run(
        machine(("F", {"Type": "Fail", "Error": "Pipeline.Failed", "Cause": "step procure failed"}))
    )
    with pytest.raises(ExecutionFailed) as caught:
        run()
    assert (caught.value.error, caught.value.cause) == ("Pipeline.Failed", "step procure failed")
    assert run.types() == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]


def test_fail_with_error_path_and_cause_path():
    run = Run(
        machine(
            (
                "F",
                {
                    "Type": "Fail",
                    "ErrorPath": "$.error.Error",
                    "CausePath": "States.Format('step {} failed: {}', $.step, $.error.Cause)",
                },
            )
        )
    )
    with pytest.raises(ExecutionFailed) as caught:
        run({"step": "egress", "error": {"Error": "Batch.Failed", "Cause": "exit 3"}})
    assert (caught.value.error, caught.value.cause) == (
        "Batch.Failed",
        "step egress failed: exit 3",
    )


# -- Parallel and Map -----------------------------------------------------------------------


def branch(*states):
    return machine(*states)


def test_parallel_outputs_in_branch_order():
    run = Run(
        machine(
            (
                "Both",
                {
                    "Type": "Parallel",
                    "Branches": [
                        branch(
                            ("A", {"Type": "Wait", "Seconds": 50, "Next": "A2"}),
                            ("A2", {"Type": "Pass", "Result": "a"}),
                        ),
                        branch(("B", {"Type": "Pass", "InputPath": "$.x"})),
                    ],
                    "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"},
                    "ResultPath": "$.both",
                },
            )
        ),
        time_scale=0.001,
    )
    assert run({"x": 7}) == {"x": 7, "both": {"first": "a", "second": 7}}
    types = run.types()
    assert types[1:3] == ["ParallelStateEntered", "ParallelStateStarted"]
    assert types[-3:] == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]


def test_parallel_branch_failure_aborts_siblings_and_is_caught():
    run = Run(
        machine(
            (
                "Both",
                {
                    "Type": "Parallel",
                    "Branches": [
                        branch(("Long", {"Type": "Wait", "Seconds": 1000})),
                        branch(("Boom", {"Type": "Fail", "Error": "Branch.Boom", "Cause": "no"})),
                    ],
                    "Catch": [{"ErrorEquals": ["Branch.Boom"], "Next": "Recovered"}],
                },
            ),
            ("Recovered", {"Type": "Pass"}),
        ),
        time_scale=1,
        max_wait_s=5,
    )
    assert run() == {"Error": "Branch.Boom", "Cause": "no"}
    assert "WaitStateAborted" in run.types()  # the 1000 s wait was stopped, not waited out
    assert "ParallelStateFailed" in run.types()


@pytest.mark.parametrize(
    "limit", [{"MaxConcurrency": 2}, {"MaxConcurrencyPath": "$.limit"}], ids=["fixed", "path"]
)
def test_map_item_selector_context_and_concurrency(limit):
    active, peak, lock = [0], [0], threading.Lock()
    first_two = threading.Barrier(2, timeout=WAIT_S)  # items 0 and 1 run at the same time

    def invoke(resource, params):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        if params["index"] < 2:
            first_two.wait()
        with lock:
            active[0] -= 1
        return params["value"] * 10 + params["index"]

    run = Run(
        machine(
            (
                "Each",
                {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    **limit,
                    "ItemSelector": {
                        "value.$": "$$.Map.Item.Value",
                        "index.$": "$$.Map.Item.Index",
                        "tag.$": "$.tag",
                    },
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "Work",
                        "States": {
                            "Work": {"Type": "Task", "Resource": LAMBDA_INVOKE, "End": True}
                        },
                    },
                    "ResultPath": "$.results",
                },
            )
        ),
        invoke,
    )
    output = run({"items": [1, 2, 3, 4, 5], "tag": "t", "limit": 2})
    assert output["results"] == [10, 21, 32, 43, 54]
    assert peak[0] == 2
    assert run.details("MapStateStarted") == [{"length": 5}]
    assert sorted(d["index"] for d in run.details("MapIterationSucceeded")) == [0, 1, 2, 3, 4]
    assert {d["name"] for d in run.details("MapIterationStarted")} == {"Each"}


def test_map_with_iterator_and_parameters_and_empty_input():
    definition = machine(
        (
            "Each",
            {
                "Type": "Map",
                "Parameters": {"v.$": "$$.Map.Item.Value"},
                "Iterator": {
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "OutputPath": "$.v", "End": True}},
                },
            },
        )
    )
    assert Run(definition)([["a"], ["b"]]) == [["a"], ["b"]]
    assert Run(definition)([]) == []


def test_map_iteration_failure_fails_the_map():
    run = Run(
        machine(
            (
                "Each",
                {
                    "Type": "Map",
                    "MaxConcurrency": 1,
                    "ItemProcessor": {
                        "StartAt": "Check",
                        "States": {
                            "Check": {
                                "Type": "Choice",
                                "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Bad"}],
                                "Default": "Good",
                            },
                            "Bad": {"Type": "Fail", "Error": "Item.Bad"},
                            "Good": {"Type": "Succeed"},
                        },
                    },
                },
            )
        )
    )
    with pytest.raises(ExecutionFailed) as caught:
        run([1, 2, 3])
    assert caught.value.error == "Item.Bad"
    assert run.details("MapIterationFailed") == [{"name": "Each", "index": 1}]
    assert "MapStateFailed" in run.types()


def test_map_items_path_must_select_an_array():
    run = Run(
        machine(
            (
                "Each",
                {"Type": "Map", "ItemsPath": "$.x", "Iterator": branch(("P", {"Type": "Pass"}))},
            )
        )
    )
    with pytest.raises(ExecutionFailed, match=r"States\.Runtime"):
        run({"x": "nope"})


# -- stop -----------------------------------------------------------------------------------


def test_stop_during_a_wait_aborts():
    stop = threading.Event()
    run = Run(
        machine(("W", {"Type": "Wait", "Seconds": 100})), time_scale=1, max_wait_s=30, stop=stop
    )
    stopper = when(lambda: "WaitStateEntered" in run.types(), stop.set)
    with pytest.raises(ExecutionAborted):
        run()
    stopper.join()
    assert run.types()[-2:] == ["WaitStateAborted", "ExecutionAborted"]  # not waited out


def test_stop_during_a_task_inside_a_map_aborts():
    stop, release, finished = threading.Event(), threading.Event(), []

    def invoke(resource, params):
        stop.set()
        release.wait(WAIT_S)
        finished.append(params)
        return params

    run = Run(
        machine(
            (
                "Each",
                {
                    "Type": "Map",
                    "Iterator": branch(("T", {"Type": "Task", "Resource": LAMBDA_INVOKE})),
                },
            )
        ),
        invoke,
        stop=stop,
    )
    with pytest.raises(ExecutionAborted):
        run([1, 2])
    assert finished == []  # aborted while the tasks were still running
    release.set()
    types = run.types()
    assert "TaskStateAborted" in types and "MapIterationAborted" in types
    assert types[-2:] == ["MapStateAborted", "ExecutionAborted"]


# -- a pipeline-shaped definition, and history shapes ----------------------------------------

PIPELINE = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {
                "FunctionName": "arn:aws:lambda:eu-west-1:000000000000:function:n2n-prepare",
                "Payload": {"execution_name.$": "$$.Execution.Name", "input.$": "$"},
            },
            "ResultSelector": {"run.$": "$.Payload"},
            "OutputPath": "$.run",
            "Retry": [
                {"ErrorEquals": ["Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 3}
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
            "Next": "IsArray",
        },
        "IsArray": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.is_array", "BooleanEquals": True, "Next": "Procure"}],
            "Default": "Procure",
        },
        **{
            step: {
                "Type": "Task",
                "Resource": "arn:aws:states:::batch:submitJob",
                "Parameters": {
                    "JobName.$": f"States.Format('{step.lower()}-{{}}', $.workflow_id)",
                    "JobQueue": f"{step.lower()}-queue",
                    "JobDefinition": f"{step.lower()}-def",
                    "ArrayProperties": {"Size.$": "$.array_size"},
                    **(
                        {"DependsOn": [{"JobId.$": f"$.jobs.{before}.JobId", "Type": "N_TO_N"}]}
                        if before
                        else {}
                    ),
                },
                "ResultSelector": {"JobId.$": "$.JobId"},
                "ResultPath": f"$.jobs.{step}",
                "Next": following,
            }
            for step, before, following in [
                ("Procure", None, "Process"),
                ("Process", "Procure", "Egress"),
                ("Egress", "Process", "WaitForJobs"),
            ]
        },
        "WaitForJobs": {"Type": "Wait", "Seconds": 30, "Next": "Watch"},
        "Watch": {
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": "n2n-watch", "Payload.$": "$"},
            "ResultSelector": {"status.$": "$.Payload.status"},
            "ResultPath": "$.watch",
            "Next": "Done?",
        },
        "Done?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.watch.status", "StringEquals": "SUCCEEDED", "Next": "Succeeded"},
                {"Variable": "$.watch.status", "StringEquals": "FAILED", "Next": "Failed"},
            ],
            "Default": "WaitForJobs",
        },
        "Succeeded": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "Pipeline.Failed", "CausePath": "$.watch.status"},
    },
}


class FakeAws:
    """Integrations shaped like AWS's: lambda:invoke and batch:submitJob."""

    def __init__(self, polls_until_done=2, outcome="SUCCEEDED", prepare_failures=0):
        self.polls, self.outcome = polls_until_done, outcome
        self.prepare_failures = prepare_failures
        self.jobs = []

    def __call__(self, resource, params):
        if resource == "arn:aws:states:::batch:submitJob":
            job_id = f"job-{len(self.jobs)}"
            self.jobs.append(params)
            return {
                "JobArn": f"arn:aws:batch:eu-west-1:0:job/{job_id}",
                "JobName": params["JobName"],
                "JobId": job_id,
            }
        if params["FunctionName"].endswith("prepare"):
            if self.prepare_failures:
                self.prepare_failures -= 1
                raise TaskFailed("Lambda.ServiceException", "throttled")
            payload = {
                "workflow_id": params["Payload"]["execution_name"],
                "array_size": 3,
                "is_array": True,
            }
        else:
            self.polls -= 1
            payload = {"status": self.outcome if self.polls <= 0 else "RUNNING"}
        return {
            "ExecutedVersion": "$LATEST",
            "Payload": payload,
            "SdkHttpMetadata": {"HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": "r"},
            "StatusCode": 200,
        }


def test_pipeline_shaped_definition_succeeds():
    aws = FakeAws(polls_until_done=3, prepare_failures=1)
    run = Run(PIPELINE, aws, time_scale=0.001)
    output = run({"id_count": 100, "ids_per_node": 40})
    assert output["watch"] == {"status": "SUCCEEDED"}
    assert [job["JobName"] for job in aws.jobs] == [
        "procure-run-1",
        "process-run-1",
        "egress-run-1",
    ]
    assert aws.jobs[1]["DependsOn"] == [{"JobId": "job-0", "Type": "N_TO_N"}]
    assert aws.jobs[2]["ArrayProperties"] == {"Size": 3}
    assert run.types().count("WaitStateEntered") == 3
    assert run.types().count("TaskFailed") == 1  # the throttled prepare, retried


def test_pipeline_shaped_definition_fails_with_the_watch_status():
    run = Run(PIPELINE, FakeAws(outcome="FAILED"))
    with pytest.raises(ExecutionFailed) as caught:
        run({"id_count": 100, "ids_per_node": 40})
    assert (caught.value.error, caught.value.cause) == ("Pipeline.Failed", "FAILED")


def _history(run):
    """The recorded events numbered and timestamped as GetExecutionHistory returns them."""
    events = []
    for number, (kind, details) in enumerate(run.events, start=1):
        event = {
            "timestamp": dt.datetime.now(dt.UTC),
            "type": kind,
            "id": number,
            "previousEventId": number - 1,
        }
        if details is not None:
            event[details_key(kind)] = details
        events.append(event)
    return events


def test_every_event_validates_against_botocore_history_shape():
    runs = [Run(PIPELINE, FakeAws(prepare_failures=1))]
    runs[0]({"id_count": 5})
    for definition, execution_input in [
        (machine(("Fn", {"Type": "Task", "Resource": FUNCTION_ARN})), {}),
        (PIPELINE, {"id_count": 5}),
        (machine(("T", {"Type": "Task", "Resource": LAMBDA_INVOKE, "TimeoutSeconds": 1})), None),
    ]:
        runs.append(Run(definition, failing(9, "Lambda.Unknown")))
        with pytest.raises(ExecutionFailed):
            runs[-1](execution_input)
    parallel = Run(
        machine(
            ("P", {"Type": "Parallel", "Branches": [branch(("W", {"Type": "Wait", "Seconds": 1}))]})
        ),
    )
    parallel()
    mapped = Run(
        machine(("M", {"Type": "Map", "Iterator": branch(("F", {"Type": "Fail", "Error": "E"}))}))
    )
    with pytest.raises(ExecutionFailed):
        mapped([1])
    stop = threading.Event()
    stop.set()
    aborted = Run(machine(("W", {"Type": "Wait", "Seconds": 1})), stop=stop)
    with pytest.raises(ExecutionAborted):
        aborted()
    runs += [parallel, mapped, aborted]

    client = boto3.client(
        "stepfunctions", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    seen = set()
    with Stubber(client) as stubber:
        for run in runs:
            events = _history(run)
            seen.update(event["type"] for event in events)
            stubber.add_response("get_execution_history", {"events": events})
            client.get_execution_history(executionArn=EXECUTION_ARN)
    assert {
        "ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted",
        "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskFailed",
        "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionFailed",
        "ChoiceStateEntered", "WaitStateEntered", "FailStateEntered", "SucceedStateExited",
        "ParallelStateStarted", "ParallelStateSucceeded", "MapStateStarted", "MapIterationStarted",
        "MapIterationFailed", "MapStateFailed",
    } <= seen  # fmt: skip


def test_details_key_follows_botocore():
    assert details_key("TaskStateEntered") == "stateEnteredEventDetails"
    assert details_key("ChoiceStateExited") == "stateExitedEventDetails"
    assert details_key("TaskScheduled") == "taskScheduledEventDetails"
    assert details_key("ExecutionStarted") == "executionStartedEventDetails"
    assert details_key("MapIterationSucceeded") == "mapIterationSucceededEventDetails"
    assert details_key("LambdaFunctionScheduled") == "lambdaFunctionScheduledEventDetails"
    with pytest.raises(KeyError):
        details_key("ParallelStateStarted")


# A state machine's top-level TimeoutSeconds: "The maximum number of seconds an execution of
# the state machine can run. If it runs longer than the specified time, the execution fails
# with a States.Timeout Error name."
# https://docs.aws.amazon.com/step-functions/latest/dg/statemachine-structure.html
# The execution's status is then TIMED_OUT, its last event ExecutionTimedOut, and no Catch
# sees it: "catchers are available for Task, Parallel and Map states, but not for top-level
# state machine execution failures"
# (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).


def started(seconds_ago: float) -> dict:
    """The test context with an execution that started ``seconds_ago``."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)
    return {**CONTEXT, "Execution": {**CONTEXT["Execution"], "StartTime": start.isoformat()}}


def run_past_its_timeout(timeout_s: int, seconds_ago: float) -> tuple[Run, ExecutionTimedOut]:
    """Run a machine whose Task (catching every error it can) works until released, started
    ``seconds_ago`` with ``TimeoutSeconds`` ``timeout_s``; the run and how it timed out."""
    release, finished = threading.Event(), []

    def invoke(resource, params):
        release.wait(WAIT_S)
        finished.append(resource)
        return params

    work = {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
    }
    definition = machine(("Work", work), ("Caught", {"Type": "Pass"}), TimeoutSeconds=timeout_s)
    run = Run(definition, invoke, context=started(seconds_ago))
    try:
        with pytest.raises(ExecutionTimedOut) as caught:
            run()
        assert finished == []  # it timed out while its task still ran
    finally:
        release.set()
    return run, caught.value


def test_an_execution_that_outlives_its_timeout_seconds_times_out_uncaught():
    run, timed_out = run_past_its_timeout(1, seconds_ago=0)
    assert timed_out.error == "States.Timeout"
    types = run.types()
    assert types[-1] == "ExecutionTimedOut"
    assert "PassStateEntered" not in types  # the Task's Catch did not see the timeout
    assert not {"ExecutionFailed", "ExecutionAborted", "ExecutionSucceeded"} & set(types)
    assert run.details("ExecutionTimedOut")[0]["error"] == "States.Timeout"


def test_timeout_seconds_count_from_the_execution_start():
    """Started 120 s ago with TimeoutSeconds 60: out of time before its first task ends."""
    run, _ = run_past_its_timeout(60, seconds_ago=120)
    assert run.types()[-1] == "ExecutionTimedOut"


def test_an_execution_within_its_timeout_seconds_succeeds():
    run = Run(machine(("P", {"Type": "Pass"}), TimeoutSeconds=60), context=started(0))
    assert run({"k": 1}) == {"k": 1}
    assert run.types()[-1] == "ExecutionSucceeded"
