"""The state machine in infra/template.yaml: its substitutions, the ASL it may use, the
paths of the three run shapes (one node, N_TO_N array, BARRIER array) and the watch loop,
its data contract with the Lambda handlers, and the ASL validator (statelint, from the dev
extra that ``make test`` installs)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from pipeline.errors import InvalidRunInput
from pipeline.handlers.prepare import prepare
from pipeline.handlers.watch import watch

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "template.yaml"

ACCOUNT, REGION = "123456789012", "us-east-1"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
BATCH_SUBMIT = "arn:aws:states:::batch:submitJob"
STATE_TYPES = {"Task", "Pass", "Choice", "Wait", "Succeed", "Fail"}
INTRINSICS = {"States.Format", "States.StringToJson", "States.JsonToString", "States.Array"}
STEPS = ("procure", "process", "egress")


def dummy_value(name: str) -> str:
    """A well-formed value for one DefinitionSubstitutions key."""
    if name.endswith("FunctionArn"):
        function = name.removesuffix("FunctionArn").lower()
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:n2n-{function}"
    if name.endswith("JobQueueArn"):
        step = name.removesuffix("JobQueueArn").lower()
        return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/n2n-{step}"
    if name.endswith("JobDefinitionArn"):
        step = name.removesuffix("JobDefinitionArn").lower()
        return f"arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/n2n-{step}:1"
    return {"WatchIntervalSeconds": "30", "RunTimeoutSeconds": "86400", "StackName": "n2n"}[name]


@pytest.fixture(scope="module")
def state_machine() -> dict[str, Any]:
    template, errors = decode(str(TEMPLATE))
    assert not errors
    return json.loads(json.dumps(template["Resources"]["PipelineStateMachine"]["Properties"]))


@pytest.fixture(scope="module")
def definition_text(state_machine: dict[str, Any]) -> str:
    """The definition with its substitutions filled by dummy ARNs."""
    text = state_machine["DefinitionString"]
    assert isinstance(text, str), "DefinitionString must be a literal string, not Fn::Sub"
    return re.sub(r"\$\{(\w+)\}", lambda match: dummy_value(match.group(1)), text)


@pytest.fixture(scope="module")
def definition(definition_text: str) -> dict[str, Any]:
    return json.loads(definition_text)


def test_every_placeholder_has_a_substitution(state_machine: dict[str, Any]):
    placeholders = set(re.findall(r"\$\{(\w+)\}", state_machine["DefinitionString"]))
    substitutions = state_machine["DefinitionSubstitutions"]
    assert placeholders == set(substitutions)
    for step in STEPS:
        name = step.title()
        assert substitutions[f"{name}JobQueueArn"] == {"Ref": f"{name}JobQueue"}
        assert substitutions[f"{name}JobDefinitionArn"] == {"Ref": f"{name}JobDefinition"}
    assert substitutions["WatchIntervalSeconds"] == {"Ref": "WatchIntervalSeconds"}


def test_logging_and_tracing(state_machine: dict[str, Any]):
    logging = state_machine["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    [destination] = logging["Destinations"]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {
        "Fn::GetAtt": ["StateMachineLogGroup", "Arn"]
    }
    assert state_machine["TracingConfiguration"] == {"Enabled": True}


def test_only_the_asl_the_local_interpreter_runs(definition: dict[str, Any], definition_text: str):
    states = definition["States"]
    assert {state["Type"] for state in states.values()} <= STATE_TYPES
    for name, state in states.items():
        if state["Type"] == "Task":
            resource = state["Resource"]
            function = resource.startswith(f"arn:aws:lambda:{REGION}:") and ":function:" in resource
            assert resource in (LAMBDA_INVOKE, BATCH_SUBMIT) or function, name
    assert set(re.findall(r"States\.\w+", definition_text)) - {"States.ALL"} <= INTRINSICS


def test_every_state_is_reachable_and_every_target_exists(definition: dict[str, Any]):
    states = definition["States"]

    def targets(state: dict[str, Any]) -> list[str]:
        found = [state.get("Next"), state.get("Default")]
        found += [choice["Next"] for choice in state.get("Choices", [])]
        found += [catcher["Next"] for catcher in state.get("Catch", [])]
        return [target for target in found if target]

    seen, todo = set(), [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            assert name in states, f"no state {name}"
            seen.add(name)
            todo.extend(targets(states[name]))
    assert seen == set(states)


# -- a walk through the definition, enough for its Pass, Choice and Task states ---------


def read(data: Any, path: str) -> Any:
    assert path.startswith("$"), path
    for part in filter(None, path[1:].split(".")):
        data = data[part]
    return data


def fill(template: Any, data: Any) -> Any:
    """Parameters with their ``.$`` paths read; intrinsics and context paths kept as text."""
    if isinstance(template, list):
        return [fill(item, data) for item in template]
    if not isinstance(template, dict):
        return template
    filled = {}
    for key, value in template.items():
        if key.endswith(".$") and value.startswith("$") and not value.startswith("$$"):
            filled[key[:-2]] = read(data, value)
        elif key.endswith(".$"):
            filled[key[:-2]] = value
        else:
            filled[key] = fill(value, data)
    return filled


def put(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    parts = path[2:].split(".")
    target = data
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return data


def matches(rule: dict[str, Any], data: Any) -> bool:
    value = read(data, rule["Variable"])
    for operator in ("BooleanEquals", "StringEquals"):
        if operator in rule:
            return value == rule[operator]
    raise AssertionError(f"the walk does not know the Choice rule {rule}")


def walk(definition: dict[str, Any], prepared: dict[str, Any]) -> list[tuple[str, dict]]:
    """Run from StartAt until the first Wait: the submitted jobs in order, parameters filled."""
    states, name = definition["States"], definition["StartAt"]
    data: dict[str, Any] = {"id_count": 10}
    submitted: list[tuple[str, dict]] = []
    while states[name]["Type"] != "Wait":
        state = states[name]
        if state["Type"] == "Choice":
            chosen = [rule["Next"] for rule in state["Choices"] if matches(rule, data)]
            name = (chosen or [state["Default"]])[0]
            continue
        if state["Type"] == "Pass":
            result = fill(state["Parameters"], data)
        elif state["Resource"] == LAMBDA_INVOKE:
            result = fill(state["ResultSelector"], {"Payload": prepared})
        else:
            parameters = fill(state["Parameters"], data)
            submitted.append((name, parameters))
            job_id = f"{parameters['JobQueue'].rsplit('-', 1)[1]}-job-id"
            response = {"JobId": job_id, "JobName": "name", "JobArn": f"arn:{job_id}"}
            result = fill(state["ResultSelector"], response)
        data = put(data, state["ResultPath"], result)
        name = state["Next"]
    return submitted


@pytest.fixture
def prepared(tmp_path: Path):
    def run(id_count: int, ids_per_node: int, dependency: str) -> dict[str, Any]:
        event = {"input": {"id_count": id_count, "ids_per_node": ids_per_node}}
        event["input"]["dependency"] = dependency
        return prepare({"execution_name": "walk", **event}, {"EFS_MOUNT": str(tmp_path)})

    return run


@pytest.mark.parametrize(
    ("ids", "dependency", "array", "link"),
    [
        (4, "N_TO_N", True, "N_TO_N"),
        (4, "BARRIER", True, None),
        (1, "N_TO_N", False, None),
        (1, "BARRIER", False, None),
    ],
)
def test_runs_submit_three_chained_jobs(definition, prepared, ids, dependency, array, link):
    submitted = walk(definition, prepared(ids, 1, dependency))
    assert [parameters["JobName"] for _, parameters in submitted] == [
        f"States.Format('{step}-{{}}', $.prepared.workflow_id)" for step in STEPS
    ]
    previous = None
    for step, (_, parameters) in zip(STEPS, submitted, strict=True):
        assert parameters["JobQueue"] == dummy_value(f"{step.title()}JobQueueArn")
        assert parameters["JobDefinition"] == dummy_value(f"{step.title()}JobDefinitionArn")
        assert parameters.get("ArrayProperties") == ({"Size": ids} if array else None)
        overrides = parameters["ContainerOverrides"]["Environment"]
        environment = {item["Name"]: item["Value"] for item in overrides}
        assert environment == {
            "WORKFLOW_ID": "walk",
            "N2N_WORK": "States.JsonToString($.prepared.work)",
            "N2N_RERUN_OF": "",
        }
        expected = None
        if previous:
            expected = [{"JobId": f"{previous}-job-id", **({"Type": link} if link else {})}]
        assert parameters.get("DependsOn") == expected
        previous = step


@pytest.mark.parametrize("indices", [[3], [0, 2, 3]])
def test_a_rerun_submits_its_indices_under_its_own_workflow(
    definition, prepared, tmp_path, indices
):
    prepared(4, 1, "N_TO_N")
    rerun = {
        "id_count": 4,
        "ids_per_node": 1,
        "rerun_of": {"workflow_id": "walk", "indices": indices},
    }
    result = prepare({"execution_name": "again", "input": rerun}, {"EFS_MOUNT": str(tmp_path)})
    submitted = walk(definition, result)
    assert submitted[0][0].endswith("Array" if len(indices) > 1 else "Node")
    for _, parameters in submitted:
        size = parameters.get("ArrayProperties", {}).get("Size", 1)
        assert size == len(indices)
        overrides = parameters["ContainerOverrides"]["Environment"]
        environment = {item["Name"]: item["Value"] for item in overrides}
        assert (environment["WORKFLOW_ID"], environment["N2N_RERUN_OF"]) == ("again", "walk")
    assert json.loads((tmp_path / "again" / "index_map.json").read_text()) == indices


def test_the_watch_loop(definition: dict[str, Any]):
    states = definition["States"]
    assert states["WaitForJobs"]["Seconds"] == 30
    task = states[states["WaitForJobs"]["Next"]]
    check = states[task["Next"]]
    assert task["ResultPath"] == "$.watch"

    def after(report: dict[str, Any]) -> str:
        data = {"watch": {"timed_out": False, **report}}
        chosen = [rule["Next"] for rule in check["Choices"] if matches(rule, data)]
        return (chosen or [check["Default"]])[0]

    again = states[after({"done": False, "succeeded": False})]
    assert again == {**again, "Type": "Wait", "SecondsPath": "$.watch.wait_s", "Next": "Watch"}
    assert states[after({"done": True, "succeeded": True})]["Type"] == "Succeed"
    failed = states[after({"done": True, "succeeded": False, "cause": "x"})]
    assert failed == {"Type": "Fail", "Error": "BatchJobsFailed", "CausePath": "$.watch.cause"}
    stopping = states[after({"done": False, "succeeded": False, "timed_out": True})]
    assert stopping["Result"]["Error"] == "RunTimedOut"
    assert stopping["Next"] == "StopRun"


def test_the_execution_times_out_at_the_run_timeout(state_machine: dict[str, Any]):
    text = state_machine["DefinitionString"]
    assert '"TimeoutSeconds": ${RunTimeoutSeconds},' in text
    assert state_machine["DefinitionSubstitutions"]["RunTimeoutSeconds"] == {
        "Ref": "RunTimeoutSeconds"
    }
    definition = json.loads(re.sub(r"\$\{(\w+)\}", lambda m: dummy_value(m.group(1)), text))
    watch_event = definition["States"]["Watch"]["Parameters"]
    assert watch_event["started_at.$"] == "$$.Execution.StartTime"
    assert (watch_event["interval_s"], watch_event["timeout_s"]) == (30, 86400)


def test_a_watch_or_submit_that_keeps_failing_stops_the_run(definition: dict[str, Any]):
    """Jobs already submitted are terminated and the summary written, whatever failed after
    them: the later submits and the watch catch every error into StopRun."""
    states = definition["States"]
    for name in ("SubmitProcessNode", "SubmitEgressNode", "SubmitProcessArray"):
        assert states[name]["Catch"][-1]["ErrorEquals"] == ["States.ALL"], name
    for name in ("SubmitEgressArray", "Watch"):
        [catcher] = states[name]["Catch"]
        assert (catcher["ErrorEquals"], catcher["Next"]) == (["States.ALL"], "StopRun"), name
    stop = states["StopRun"]
    assert stop["Resource"] == states["Watch"]["Resource"]
    data = {"prepared": {"workflow_id": "w1", "rerun_of": ""}, "jobs": {"procure": {"JobId": "p"}}}
    data["error"] = {"Error": "Batch.ClientException", "Cause": "queue disabled"}
    assert fill(stop["Parameters"], data) == {
        "workflow_id": "w1",
        "rerun_of": "",
        "jobs": {"procure": {"JobId": "p"}},
        "stop": data["error"],
    }
    failed = states[stop["Next"]]
    assert failed == {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.watch.cause"}


def test_lambdas_are_retried_while_an_inactive_vpc_function_wakes_up(definition: dict[str, Any]):
    """An idle VPC function goes Inactive and its next invoke fails with
    ResourceNotReadyException until Lambda has rebuilt its network interfaces (Lambda API
    Reference, Invoke errors): the retries must span minutes, not seconds."""
    woken = {"Lambda.ResourceNotReadyException", "Lambda.ENINotReadyException"}
    woken.add("Lambda.ClientExecutionTimeoutException")
    for name in ("Prepare", "Watch", "StopRun"):
        retriers = [
            r for r in definition["States"][name]["Retry"] if woken <= set(r["ErrorEquals"])
        ]
        assert len(retriers) == 1, name
        [retrier] = retriers
        waits = [
            retrier["IntervalSeconds"] * retrier["BackoffRate"] ** attempt
            for attempt in range(retrier["MaxAttempts"])
        ]
        assert sum(waits) >= 10 * 60, (name, waits)


def test_watch_gets_the_event_its_handler_reads(definition: dict[str, Any], tmp_path: Path):
    task = definition["States"]["Watch"]
    prepared = {"workflow_id": "w1", "rerun_of": ""}
    data = {"prepared": prepared, "jobs": {s: {"JobId": f"{s}-id"} for s in STEPS}}
    event = fill(task["Parameters"], data)
    assert event["started_at"] == "$$.Execution.StartTime"
    # Step Functions gives the context's StartTime as ISO 8601 with milliseconds and Z.
    started = datetime.now(UTC) - timedelta(seconds=120)
    event["started_at"] = started.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    class Batch:
        def describe_jobs(self, jobs: list[str]) -> dict[str, Any]:
            return {"jobs": [{"jobId": job, "status": "RUNNING"} for job in jobs]}

    report = watch(event, Batch(), tmp_path.as_uri() + "/")
    assert report["done"] is False
    assert event["jobs"] == {step: f"{step}-id" for step in STEPS}
    # Two minutes in, a twentieth of the age (6 s) is below the 30 s interval.
    assert (report["wait_s"], report["timed_out"]) == (30, False)


def test_prepare_result_and_invalid_input(definition: dict[str, Any], tmp_path: Path):
    states = definition["States"]
    task = states["Prepare"]
    assert task["Resource"] == LAMBDA_INVOKE
    payload_paths = {"execution_name.$": "$$.Execution.Name", "input.$": "$"}
    assert task["Parameters"]["Payload"] == payload_paths
    payload = prepare({"input": {"id_count": 5, "ids_per_node": 2}}, {"EFS_MOUNT": str(tmp_path)})
    assert fill(task["ResultSelector"], {"Payload": payload}) == payload
    [catcher] = task["Catch"]
    assert catcher["ErrorEquals"] == [InvalidRunInput.__name__]
    reader = states[catcher["Next"]]
    parse_cause = f"States.StringToJson({catcher['ResultPath']}.Cause)"
    assert reader["Parameters"] == {"error.$": parse_cause}
    # Lambda reports an exception as {"errorMessage", "errorType", ...} in the Cause.
    fail = states[reader["Next"]]
    cause = {"error": {"errorMessage": "id_count is missing.", "errorType": "InvalidRunInput"}}
    assert fail["Type"] == "Fail"
    assert read(cause, fail["CausePath"]) == "id_count is missing."


def test_service_errors_are_retried_with_backoff(definition: dict[str, Any]):
    for name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        errors = {error for retrier in state["Retry"] for error in retrier["ErrorEquals"]}
        if state["Resource"] == BATCH_SUBMIT:
            assert {"Batch.AWSBatchException", "Batch.TooManyRequestsException"} <= errors, name
        else:
            assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException"} <= errors, name
        assert all(retrier["BackoffRate"] > 1 for retrier in state["Retry"]), name


def validate(definition: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run statelint (the dev extra) on ``definition``."""
    path = tmp_path / "definition.json"
    path.write_text(json.dumps(definition))
    statelint = Path(sys.executable).parent / "statelint"
    assert statelint.exists(), f"{statelint} is missing: run `make test` (the dev extra has it)."
    return subprocess.run(
        [str(statelint), str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_statelint_accepts_the_definition(definition: dict[str, Any], tmp_path: Path):
    result = validate(definition, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_statelint_rejects_a_broken_definition(definition: dict[str, Any], tmp_path: Path):
    broken = json.loads(json.dumps(definition))
    broken["States"]["ChooseShape"]["Default"] = "NoSuchState"
    assert validate(broken, tmp_path).returncode != 0
