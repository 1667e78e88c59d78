"""Deploy-time checks: everything the interpreter cannot run is rejected with one sentence
naming the state, so an execution never meets an unsupported construct."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.local.stepfunctions.asl import choice, errors, intrinsics
from pipeline.local.stepfunctions.asl.errors import UnsupportedDefinition
from pipeline.local.stepfunctions.asl.paths import compile_path, reference_steps
from pipeline.local.stepfunctions.asl.templates import check_expression, check_template
from pipeline.local.stepfunctions.asl.timestamps import parse_timestamp

_IO = {"InputPath", "OutputPath"}
_FLOW = {"Next", "End"}
_RESULT = {"Parameters", "ResultSelector", "ResultPath", "Retry", "Catch"}
FIELDS: dict[str, set[str]] = {
    "Pass": _IO | _FLOW | {"Parameters", "Result", "ResultPath"},
    "Task": _IO
    | _FLOW
    | _RESULT
    | {"Resource", "TimeoutSeconds", "TimeoutSecondsPath"}
    | {"HeartbeatSeconds", "HeartbeatSecondsPath"},
    "Choice": _IO | {"Choices", "Default"},
    "Wait": _IO | _FLOW | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": _IO,
    "Fail": {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _IO | _FLOW | _RESULT | {"Branches"},
    "Map": _IO
    | _FLOW
    | _RESULT
    | {"ItemSelector", "ItemsPath", "MaxConcurrency", "MaxConcurrencyPath"}
    | {"Iterator", "ItemProcessor"},
}
_COMMON = {"Type", "Comment", "QueryLanguage"}
# The top level may also have TimeoutSeconds: the interpreter enforces it in real seconds,
# as it does a Task's TimeoutSeconds.
_MACHINE_FIELDS = {"StartAt", "States", "Comment", "Version", "QueryLanguage"}
_RETRIER_FIELDS = {
    "ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds",
    "JitterStrategy", "Comment",
}  # fmt: skip
_CATCHER_FIELDS = {"ErrorEquals", "Next", "ResultPath", "Comment"}
# Documented features the local backend refuses, by the field that uses them: what the
# definition does, and what to do instead (the README, "Step Functions locally").
_JSONATA = ("uses the JSONata field {!r}", "write the state in JSONPath")
_DISTRIBUTED = (
    "uses the Distributed Map field {!r}",
    "use an inline Map over an array in the state input",
)
_DISTRIBUTED_FIELDS = (
    "ItemReader", "ItemBatcher", "ResultWriter", "Label", "ToleratedFailureCount",
    "ToleratedFailureCountPath", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath",
)  # fmt: skip
REFUSED_FIELDS: dict[str, tuple[str, str]] = {
    "Assign": (
        "uses variables (the field {!r})",
        "pass data between states with ResultPath and Parameters instead",
    ),
    **dict.fromkeys(["Arguments", "Output", "Items", "Condition"], _JSONATA),
    **dict.fromkeys(_DISTRIBUTED_FIELDS, _DISTRIBUTED),
    "Credentials": ("uses cross-account task {!r}", "run the task in the execution's account"),
}
# The intrinsics a Fail state's ErrorPath and CausePath may call (they return strings):
# https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
FAIL_PATH_INTRINSICS = frozenset(
    {
        "States.Format", "States.JsonToString", "States.ArrayGetItem", "States.Base64Encode",
        "States.Base64Decode", "States.Hash", "States.UUID",
    }
)  # fmt: skip


class _Problem(Exception):
    """What a state does and why the local backend cannot run it."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(what, why)
        self.what, self.why = what, why


def validate_definition(definition: dict, supports_resource: Callable[[str], bool]) -> None:
    """Reject at deploy time anything the interpreter cannot run (unknown state type, unknown
    field, unknown intrinsic, a Task resource ``supports_resource`` rejects, a Next that does
    not exist, no StartAt...) with UnsupportedDefinition naming the state."""
    _check_machine(
        definition, supports_resource, "The state machine", frozenset({"TimeoutSeconds"})
    )


def _reject(subject: str, problem: _Problem) -> UnsupportedDefinition:
    return UnsupportedDefinition(
        f"{subject} {problem.what}, which the local backend cannot run: {problem.why}."
    )


def _check_machine(
    machine: Any, supports: Callable[[str], bool], subject: str, extra: frozenset = frozenset()
) -> None:
    try:
        if not isinstance(machine, dict):
            raise _Problem("is not a JSON object", "give it StartAt and States")
        _only(machine, _MACHINE_FIELDS | extra)
        _query_language(machine)
        states = machine.get("States")
        if not isinstance(states, dict) or not states:
            raise _Problem("has no States", "define at least one state")
        if "TimeoutSeconds" in machine and not _positive_int(machine["TimeoutSeconds"]):
            raise _Problem(
                f"has TimeoutSeconds {machine['TimeoutSeconds']!r}", "use a positive integer"
            )
        if machine.get("StartAt") not in states:
            raise _Problem(
                f"has StartAt {machine.get('StartAt')!r}", "it must name one of its States"
            )
    except _Problem as problem:
        raise _reject(subject, problem) from None
    for name, state in states.items():
        try:
            _check_state(state, states, supports)
        except _Problem as problem:
            raise _reject(f"State {name!r}", problem) from None
        subject = f"A branch of state {name!r}"
        if state["Type"] == "Parallel":
            for branch in state["Branches"]:
                _check_machine(branch, supports, subject)
        elif state["Type"] == "Map":
            processor = state.get("ItemProcessor") or state["Iterator"]
            _check_machine(processor, supports, subject, frozenset({"ProcessorConfig"}))


def _only(fields: dict, allowed: set[str]) -> None:
    extra = sorted(set(fields) - allowed)
    for field in extra:
        if field in REFUSED_FIELDS:
            what, instead = REFUSED_FIELDS[field]
            raise _Problem(what.format(field), instead)
    if extra:
        raise _Problem(f"has the field {extra[0]!r}", f"use only {', '.join(sorted(allowed))}")


def _query_language(fields: dict) -> None:
    if fields.get("QueryLanguage", "JSONPath") != "JSONPath":
        raise _Problem(
            f"uses QueryLanguage {fields['QueryLanguage']!r}", "only JSONPath is interpreted"
        )


def _check_state(state: Any, states: dict, supports: Callable[[str], bool]) -> None:
    if not isinstance(state, dict):
        raise _Problem("is not a JSON object", "give it a Type")
    kind = state.get("Type")
    if kind not in FIELDS:
        raise _Problem(f"uses Type {kind!r}", f"use one of {', '.join(FIELDS)}")
    _only(state, FIELDS[kind] | _COMMON)
    _query_language(state)
    _check_flow(state, states, kind)
    _check_paths(state)
    for template in ("Parameters", "ItemSelector", "ResultSelector"):
        if template in state:
            _check_template(state, template)
    for field in ("Retry", "Catch"):
        _check_handlers(state.get(field, []), field, states)
    CHECKS.get(kind, lambda state, states, supports: None)(state, states, supports)


def _check_flow(state: dict, states: dict, kind: str) -> None:
    if kind in ("Choice", "Succeed", "Fail"):
        return
    if ("Next" in state) == bool(state.get("End")):
        raise _Problem("has both or neither of Next and End", "give it exactly one")
    if "End" in state and state["End"] is not True:
        raise _Problem(f"has End {state['End']!r}", "End must be true")
    _check_next(state.get("Next"), states, "Next")


def _check_next(target: Any, states: dict, field: str) -> None:
    if target is not None and target not in states:
        raise _Problem(f"has {field} {target!r}", "no state of that name exists here")


def _check_paths(state: dict) -> None:
    for field in ("InputPath", "OutputPath", "ItemsPath", "ResultPath"):
        if state.get(field) is None:
            continue
        try:
            if field == "ResultPath":
                reference_steps(state[field])
            else:
                compile_path(state[field])
        except ValueError as exc:
            raise _Problem(f"has {field} {state[field]!r}", str(exc)) from None


def _check_template(state: dict, field: str) -> None:
    template = state[field]
    if not isinstance(template, dict) and field != "Parameters":
        raise _Problem(f"has a {field} that is not an object", "make it a JSON object")
    try:
        check_template(template)
    except ValueError as exc:
        raise _Problem(f"has a {field} whose {exc}", "fix the path or intrinsic call") from None


def _positive_int(value: Any, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _check_handlers(handlers: Any, field: str, states: dict) -> None:
    if not isinstance(handlers, list):
        raise _Problem(f"has a {field} that is not a list", "make it a list of objects")
    allowed = _RETRIER_FIELDS if field == "Retry" else _CATCHER_FIELDS
    for position, handler in enumerate(handlers):
        if not isinstance(handler, dict):
            raise _Problem(f"has a {field} entry {handler!r}", "make it an object")
        _only(handler, allowed)
        names = handler.get("ErrorEquals")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise _Problem(f"has a {field} entry without ErrorEquals", "list the error names")
        if errors.ALL in names and (len(names) > 1 or position != len(handlers) - 1):
            raise _Problem(
                f"has States.ALL in {field} with other names or not last",
                "States.ALL must appear alone in the last entry",
            )
        if field == "Catch":
            if "Next" not in handler:
                raise _Problem("has a Catch entry without Next", "name the state to go to")
            _check_next(handler["Next"], states, "Catch Next")
            _check_paths({"ResultPath": handler.get("ResultPath")})
        else:
            _check_retrier(handler)


def _check_retrier(retrier: dict) -> None:
    rules = {
        "IntervalSeconds": _positive_int,
        "MaxAttempts": lambda v: _positive_int(v, minimum=0),
        "MaxDelaySeconds": _positive_int,
        "BackoffRate": lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v >= 1,
        "JitterStrategy": lambda v: v in ("FULL", "NONE"),
    }
    for field, valid in rules.items():
        if field in retrier and not valid(retrier[field]):
            raise _Problem(f"has Retry {field} {retrier[field]!r}", "see the ASL Retry rules")


def _check_task(state: dict, states: dict, supports: Callable[[str], bool]) -> None:
    resource = state.get("Resource")
    if not isinstance(resource, str) or not supports(resource):
        raise _Problem(f"uses Resource {resource!r}", "the local backend has no such integration")
    for field in ("TimeoutSeconds", "HeartbeatSeconds"):
        if field in state and f"{field}Path" in state:
            raise _Problem(f"has both {field} and {field}Path", "keep one")
        if field in state and not _positive_int(state[field]):
            raise _Problem(f"has {field} {state[field]!r}", "use a positive integer")
        if f"{field}Path" in state:
            _check_expression(state, f"{field}Path", paths_only=True)
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    if timeout and heartbeat and heartbeat >= timeout:
        raise _Problem(f"has HeartbeatSeconds {heartbeat}", "it must be less than TimeoutSeconds")


def _check_expression(state: dict, field: str, paths_only: bool = False) -> None:
    try:
        (compile_path if paths_only else check_expression)(state[field])
    except ValueError as exc:
        raise _Problem(f"has {field} {state[field]!r}", str(exc)) from None


def _check_wait(state: dict, states: dict, supports: Callable[[str], bool]) -> None:
    given = [f for f in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if f in state]
    if len(given) != 1:
        raise _Problem(
            "has not exactly one of Seconds, SecondsPath, Timestamp, TimestampPath", "give one"
        )
    (field,) = given
    if field == "Seconds" and not _positive_int(state[field], minimum=0):
        raise _Problem(f"has Seconds {state[field]!r}", "use a non-negative integer")
    if field == "Timestamp" and parse_timestamp(state[field]) is None:
        raise _Problem(f"has Timestamp {state[field]!r}", "use an RFC 3339 timestamp")
    if field.endswith("Path"):
        _check_expression(state, field, paths_only=True)


def _check_choice(state: dict, states: dict, supports: Callable[[str], bool]) -> None:
    rules = state.get("Choices")
    if not isinstance(rules, list) or not rules:
        raise _Problem("has no Choices", "give it a non-empty list of rules")
    for rule in rules:
        try:
            choice.check_rule(rule, top_level=True)
        except ValueError as exc:
            raise _Problem("has a Choice rule it cannot evaluate", str(exc)) from None
        _check_next(rule["Next"], states, "Next")
    _check_next(state.get("Default"), states, "Default")


def _check_fail(state: dict, states: dict, supports: Callable[[str], bool]) -> None:
    for field in ("Error", "Cause"):
        if field in state and f"{field}Path" in state:
            raise _Problem(f"has both {field} and {field}Path", "keep one")
        if field in state and not isinstance(state[field], str):
            raise _Problem(f"has a {field} that is not a string", "use a string")
        if f"{field}Path" in state:
            _check_fail_path(state, f"{field}Path")


def _check_fail_path(state: dict, field: str) -> None:
    """A reference path, or a call of an intrinsic that returns a string."""
    expression = state[field]
    _check_expression(state, field)
    if intrinsics.is_intrinsic(expression):
        name = intrinsics.parse_call(expression).name
        if name not in FAIL_PATH_INTRINSICS:
            raise _Problem(
                f"has {field} calling {name}",
                f"call one of {', '.join(sorted(FAIL_PATH_INTRINSICS))}",
            )
        return
    _check_reference_path(state, field)


def _check_reference_path(state: dict, field: str) -> None:
    try:
        reference_steps(state[field])
    except ValueError as exc:
        raise _Problem(f"has {field} {state[field]!r}", str(exc)) from None


def _check_parallel(state: dict, states: dict, supports: Callable[[str], bool]) -> None:
    if not isinstance(state.get("Branches"), list) or not state["Branches"]:
        raise _Problem("has no Branches", "give it a non-empty list of branches")


def _check_map(state: dict, states: dict, supports: Callable[[str], bool]) -> None:
    processors = [f for f in ("ItemProcessor", "Iterator") if f in state]
    if len(processors) != 1:
        raise _Problem("has not exactly one of ItemProcessor and Iterator", "give one")
    if "ItemSelector" in state and "Parameters" in state:
        raise _Problem("has both ItemSelector and Parameters", "keep ItemSelector")
    processor = state[processors[0]]
    mode = (
        processor.get("ProcessorConfig", {}).get("Mode", "INLINE")
        if isinstance(processor, dict)
        else None
    )
    if mode != "INLINE":
        raise _Problem(f"uses a {mode} Map", "only inline Map states run locally")
    if "MaxConcurrency" in state and "MaxConcurrencyPath" in state:
        raise _Problem("has both MaxConcurrency and MaxConcurrencyPath", "keep one")
    if "MaxConcurrency" in state and not _positive_int(state["MaxConcurrency"], minimum=0):
        raise _Problem(
            f"has MaxConcurrency {state['MaxConcurrency']!r}", "use a non-negative integer"
        )
    if "MaxConcurrencyPath" in state:
        _check_reference_path(state, "MaxConcurrencyPath")


CHECKS: dict[str, Callable[[dict, dict, Callable[[str], bool]], None]] = {
    "Task": _check_task,
    "Wait": _check_wait,
    "Choice": _check_choice,
    "Fail": _check_fail,
    "Parallel": _check_parallel,
    "Map": _check_map,
}
