"""The Step Functions Developer Guide's own examples, run through the local Step Functions
client (create_state_machine, start_execution, then describe_execution until the execution
ends), with the outputs the guide documents as the expected values.

Each test names its page. Where the guide's example calls a Lambda function, a handler in
``tests/local/stepfunctions/documented_lambdas.py`` does what the guide says the function
does; where it calls a service the local backend does not have, the state is a Pass state
giving the documented result, and the test says so.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from pipeline.connect import connect
from pipeline.local.awslambda.functions import LambdaFunctions, LocalFunction
from tests.local.e2e import stop_runner
from tests.waiting import wait_until

INTRINSICS = "https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html"
PARAMS = "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html"
RESULT_PATH = "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html"
PATHS_EXAMPLE = "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-example.html"
CONTEXT = "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html"
FAIL = "https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html"
CHOICE = "https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html"
INLINE_MAP = "https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html"
PARALLEL = "https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html"

ROLE = "arn:aws:iam::000000000000:role/documented"
ACCOUNT_REGION = "us-east-1:000000000000"
REPOSITORY = Path(__file__).resolve().parents[3]
WAIT_S = 60
LAMBDAS = {
    "HelloFunction": "hello",
    "AddressFinder": "hello",
    "Add": "add",
    "Subtract": "subtract",
    "CreateCluster": "create_cluster",
}


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{ACCOUNT_REGION}:function:{name}"


@pytest.fixture(scope="module")
def sfn(tmp_path_factory, local_env):
    """The local Step Functions client of a private home, with the guide's Lambdas."""
    home = tmp_path_factory.mktemp("documented")
    local_env.setenv("N2N_HOME", str(home))
    local_env.setenv("PYTHONPATH", str(REPOSITORY))  # the runner imports the handlers
    functions = LambdaFunctions(home)
    for name, handler in LAMBDAS.items():
        functions.put(
            LocalFunction(
                name,
                function_arn(name),
                f"tests.local.stepfunctions.documented_lambdas.{handler}",
                {},
                30,
            )
        )
    yield connect("local", home=home).sfn
    stop_runner(home)


def machine(*states: tuple[str, dict]) -> dict:
    """A definition chaining ``states`` (name, state): each goes to the next, the last ends."""
    named = {}
    for i, (name, state) in enumerate(states):
        state = dict(state)
        if state["Type"] not in ("Choice", "Succeed", "Fail") and "Next" not in state:
            state.update({"Next": states[i + 1][0]} if i + 1 < len(states) else {"End": True})
        named[name] = state
    return {"StartAt": states[0][0], "States": named}


def pass_state(**fields) -> dict:
    return {"Type": "Pass", **fields}


def execute(sfn, definition: dict, execution_input=None) -> dict:
    """Create a state machine, run it once and return describe_execution at its end."""
    name = f"doc-{uuid.uuid4().hex[:12]}"
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return run_machine(sfn, arn, execution_input)


def run_machine(sfn, arn: str, execution_input=None) -> dict:
    """Run the state machine ``arn`` once; describe_execution at the execution's end."""
    name = f"run-{uuid.uuid4().hex[:12]}"
    payload = json.dumps({} if execution_input is None else execution_input)
    started = sfn.start_execution(stateMachineArn=arn, name=name, input=payload)
    execution = started["executionArn"]
    wait_until(
        lambda: sfn.describe_execution(executionArn=execution)["status"] != "RUNNING",
        deadline=WAIT_S,
        describe=lambda: sfn.describe_execution(executionArn=execution),
    )
    return sfn.describe_execution(executionArn=execution)


def output_of(sfn, definition: dict, execution_input=None):
    """The output of a run that must succeed."""
    described = execute(sfn, definition, execution_input)
    assert described["status"] == "SUCCEEDED", (described.get("error"), described.get("cause"))
    return json.loads(described["output"])


def failure_of(sfn, definition: dict, execution_input=None) -> tuple[str, str]:
    """The error and cause of a run that must fail."""
    described = execute(sfn, definition, execution_input)
    assert described["status"] == "FAILED", described
    return described.get("error", ""), described.get("cause", "")


def parameters(**templates) -> dict:
    """A one-state machine whose Pass state's Parameters are ``templates``."""
    return machine(("Apply", pass_state(Parameters=templates)))


# -- intrinsic functions (INTRINSICS) ----------------------------------------------------


INTRINSIC_EXAMPLES = [
    # (the guide's input, the guide's field and call, the guide's result)
    (
        {"name": "Arnav", "template": "Hello, my name is {}."},
        {
            "literal.$": "States.Format('Hello, my name is {}.', $.name)",
            "path.$": "States.Format($.template, $.name)",
        },
        {"literal": "Hello, my name is Arnav.", "path": "Hello, my name is Arnav."},
    ),
    (
        {"escapedJsonString": '{"foo": "bar"}'},
        {"parsed.$": "States.StringToJson($.escapedJsonString)"},
        {"parsed": {"foo": "bar"}},
    ),
    ({"Id": 123456}, {"BuildId.$": "States.Array($.Id)"}, {"BuildId": [123456]}),
    (
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
        {"inputArray.$": "States.ArrayPartition($.inputArray,4)"},
        {"inputArray": [[1, 2, 3, 4], [5, 6, 7, 8], [9]]},
    ),
    (
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5},
        {"contains.$": "States.ArrayContains($.inputArray, $.lookingFor)"},
        {"contains": True},
    ),
    ({}, {"array.$": "States.ArrayRange(1, 9, 2)"}, {"array": [1, 3, 5, 7, 9]}),
    (
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5},
        {"item.$": "States.ArrayGetItem($.inputArray, $.index)"},
        {"item": 6},
    ),
    (
        {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
        {"length.$": "States.ArrayLength($.inputArray)"},
        {"length": 9},
    ),
    (
        {"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]},
        {"array.$": "States.ArrayUnique($.inputArray)"},
        {"array": [1, 2, 3, 4]},
    ),
    (
        {"input": "Data to encode"},
        {"base64.$": "States.Base64Encode($.input)"},
        {"base64": "RGF0YSB0byBlbmNvZGU="},
    ),
    (
        # The guide prints "Decoded data" as the result, which is not what its input
        # encodes: "RGF0YSB0byBlbmNvZGU=" is the Base64Encode example's "Data to encode".
        {"base64": "RGF0YSB0byBlbmNvZGU="},
        {"data.$": "States.Base64Decode($.base64)"},
        {"data": "Data to encode"},
    ),
    (
        # The guide prints "aaff4a450a104cd177d28d18d7485e8cae074b7", 39 digits: a SHA-1 has
        # 40; `printf 'input data' | sha1sum` gives the digest with its missing "4".
        {"Data": "input data", "Algorithm": "SHA-1"},
        {"output.$": "States.Hash($.Data, $.Algorithm)"},
        {"output": "aaff4a450a104cd177d28d18d74485e8cae074b7"},
    ),
    (
        {
            "json1": {"a": {"a1": 1, "a2": 2}, "b": 2},
            "json2": {"a": {"a3": 1, "a4": 2}, "c": 3},
        },
        {"output.$": "States.JsonMerge($.json1, $.json2, false)"},
        {"output": {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}},
    ),
    (
        {"value1": 111, "step": -1},
        {"value1.$": "States.MathAdd($.value1, $.step)"},
        {"value1": 110},
    ),
    (
        {"inputString": "1,2,3,4,5", "splitter": ","},
        {"array.$": "States.StringSplit($.inputString, $.splitter)"},
        {"array": ["1", "2", "3", "4", "5"]},
    ),
    (
        {"inputString": "This.is+a,test=string", "splitter": ".+,="},
        {"myStringArray.$": "States.StringSplit($.inputString, $.splitter)"},
        {"myStringArray": ["This", "is", "a", "test", "string"]},
    ),
]


@pytest.mark.parametrize(("state_input", "templates", "documented"), INTRINSIC_EXAMPLES)
def test_intrinsic_function_examples(sfn, state_input, templates, documented):
    """INTRINSICS: each function's example."""
    assert output_of(sfn, parameters(**templates), state_input) == documented


def test_json_to_string_example(sfn):
    """INTRINSICS, States.JsonToString: a string holding the JSON text of the node."""
    state_input = {"unescapedJson": {"foo": "bar"}}
    output = output_of(
        sfn, parameters(**{"text.$": "States.JsonToString($.unescapedJson)"}), state_input
    )
    assert isinstance(output["text"], str)
    assert json.loads(output["text"]) == {"foo": "bar"}


def test_math_random_example_and_seed(sfn):
    """INTRINSICS, States.MathRandom: start inclusive, end exclusive; the same seed returns
    identical numbers."""
    templates = {
        "random.$": "States.MathRandom($.start, $.end)",
        "seeded1.$": "States.MathRandom($.start, $.end, 42)",
        "seeded2.$": "States.MathRandom($.start, $.end, 42)",
    }
    output = output_of(sfn, parameters(**templates), {"start": 1, "end": 999})
    assert isinstance(output["random"], int) and 1 <= output["random"] < 999
    assert output["seeded1"] == output["seeded2"]


def test_uuid_example_is_version_4(sfn):
    """INTRINSICS, States.UUID: a version 4 UUID."""
    output = output_of(sfn, parameters(**{"uuid.$": "States.UUID()"}))
    assert uuid.UUID(output["uuid"]).version == 4


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        # "If you specify a non-integer value ..., Step Functions will round it off to the
        # nearest integer": 1.7 -> 2; 4.6 -> 5; 9.2 -> 9; 1.2 -> 1 and 2.4 -> 2.
        ("States.MathAdd(1.7, 1)", 3),
        ("States.ArrayPartition($.inputArray, 4.6)", [[1, 2, 3, 4, 5], [6, 7, 8, 9]]),
        ("States.ArrayRange(1, 9.2, 2)", [1, 3, 5, 7, 9]),
        ("States.MathRandom(1.2, 2.4)", 1),
        # "You must specify integer values in the range of -2147483648 and 2147483647."
        ("States.MathAdd(2147483647, -2147483648)", -1),
        # Reserved characters escaped with a backslash.
        (r"States.Format('\{\} \'quoted\' \\')", "{} 'quoted' \\"),
    ],
)
def test_intrinsic_input_validation_rules(sfn, call, expected):
    """INTRINSICS, input validation and reserved characters."""
    state_input = {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}
    assert output_of(sfn, parameters(**{"value.$": call}), state_input) == {"value": expected}


@pytest.mark.parametrize(
    ("call", "cause"),
    [
        ("States.MathAdd(2147483648, 1)", "between -2147483648 and 2147483647"),
        ("States.MathAdd(1, -2147483649)", "between -2147483648 and 2147483647"),
        # "If an open escape backslash \ is found in the intrinsic invocation string, the
        # interpreter will return a runtime error."
        (r"States.Format('open \escape')", "open escape"),
    ],
)
def test_intrinsic_runtime_errors(sfn, call, cause):
    """INTRINSICS: values out of range and open escapes fail the execution."""
    error, text = failure_of(sfn, parameters(**{"value.$": call}))
    assert error == "States.Runtime"
    assert cause in text


# -- InputPath, Parameters and ResultSelector (PARAMS) -----------------------------------


def test_input_path_example(sfn):
    """PARAMS, InputPath: ``$.dataset2`` passes only that node."""
    state_input = {
        "comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"},
    }
    definition = machine(("Select", pass_state(InputPath="$.dataset2")))
    assert output_of(sfn, definition, state_input) == {"val1": "a", "val2": "b", "val3": "c"}


def test_input_path_slice_note(sfn):
    """PARAMS, the note: ``$.a[0:2]`` yields a selection of values."""
    definition = machine(("Select", pass_state(InputPath="$.a[0:2]")))
    assert output_of(sfn, definition, {"a": [1, 2, 3, 4]}) == [1, 2]


def test_parameters_example(sfn):
    """PARAMS, Parameters: static values and values selected with paths."""
    state_input = {
        "comment": "Example for Parameters.",
        "product": {
            "details": {"color": "blue", "size": "small", "material": "cotton"},
            "availability": "in stock",
            "sku": "2317",
            "cost": "$23",
        },
    }
    templates = {
        "comment": "Selecting what I care about.",
        "MyDetails": {
            "size.$": "$.product.details.size",
            "exists.$": "$.product.availability",
            "StaticValue": "foo",
        },
    }
    assert output_of(sfn, parameters(**templates), state_input) == {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"},
    }


def test_result_selector_example(sfn):
    """PARAMS, ResultSelector: ClusterId and resourceType of an EMR createCluster.sync result
    merged into the input at ``$.EMROutput`` (a Lambda returns the documented result)."""
    task = {
        "Type": "Task",
        "Resource": function_arn("CreateCluster"),
        "ResultSelector": {
            "ClusterId.$": "$.output.ClusterId",
            "ResourceType.$": "$.resourceType",
        },
        "ResultPath": "$.EMROutput",
    }
    assert output_of(sfn, machine(("Create Cluster", task)), {"OtherDataFromInput": {}}) == {
        "OtherDataFromInput": {},
        "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"},
    }


def test_result_selector_flattens_an_array_of_arrays(sfn):
    """PARAMS, "Flattening an array of arrays": ``$[*][*]`` on a Parallel's result."""
    branches = [machine(("A", pass_state(Result=[1, 2]))), machine(("B", pass_state(Result=[3])))]
    parallel = {
        "Type": "Parallel",
        "Branches": branches,
        "ResultSelector": {"flattenArray.$": "$[*][*]"},
    }
    assert output_of(sfn, machine(("Both", parallel))) == {"flattenArray": [1, 2, 3]}


# -- InputPath, ResultPath and OutputPath together (PATHS_EXAMPLE) -----------------------


def test_hello_world_paths_example(sfn):
    """PATHS_EXAMPLE: InputPath sends only ``lambda``, ResultPath adds the result under
    ``data``, OutputPath keeps ``data``."""
    task = {
        "Type": "Task",
        "Resource": function_arn("HelloFunction"),
        "InputPath": "$.lambda",
        "ResultPath": "$.data.lambdaresult",
        "OutputPath": "$.data",
    }
    state_input = {
        "comment": "An input comment.",
        "data": {"val1": 23, "val2": 17},
        "extra": "foo",
        "lambda": {"who": "AWS Step Functions"},
    }
    assert output_of(sfn, machine(("HelloWorld", task)), state_input) == {
        "val1": 23,
        "val2": 17,
        "lambdaresult": "Hello, AWS Step Functions!",
    }


# -- ResultPath (RESULT_PATH); the task result is the guide's "Hello, Step Functions!" -----

RESULT_INPUT = {"comment": "This is a test", "details": "Default example", "who": "Step Functions"}
HELLO = "Hello, Step Functions!"


@pytest.mark.parametrize(
    ("result_path", "state_input", "documented"),
    [
        ("$", RESULT_INPUT, HELLO),
        (None, RESULT_INPUT, RESULT_INPUT),
        ("$.taskresult", RESULT_INPUT, {**RESULT_INPUT, "taskresult": HELLO}),
        (
            "$.strings.lambdaresult",
            {
                "comment": "An input comment.",
                "strings": {"string1": "foo", "string2": "bar", "string3": "baz"},
                "who": "AWS Step Functions",
            },
            {
                "comment": "An input comment.",
                "strings": {
                    "string1": "foo",
                    "string2": "bar",
                    "string3": "baz",
                    "lambdaresult": HELLO,
                },
                "who": "AWS Step Functions",
            },
        ),
        ("$.comment", RESULT_INPUT, {**RESULT_INPUT, "comment": HELLO}),
    ],
)
def test_result_path_examples(sfn, result_path, state_input, documented):
    """RESULT_PATH: replace, discard, include, insert as a child, update a node."""
    definition = machine(("Task", pass_state(Result=HELLO, ResultPath=result_path)))
    assert output_of(sfn, definition, state_input) == documented


def test_result_path_in_a_catch_keeps_the_input(sfn):
    """RESULT_PATH, "Include Error and Input in a Catch": the error lands in ``error``."""
    failing = machine(("Boom", {"Type": "Fail", "Error": "Error here", "Cause": "a branch"}))
    definition = machine(
        (
            "Try",
            {
                "Type": "Parallel",
                "Branches": [failing],
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "Next": "NextTask", "ResultPath": "$.error"}
                ],
                "Next": "NextTask",
            },
        ),
        ("NextTask", pass_state()),
    )
    output = output_of(sfn, definition, {"foo": "bar"})
    assert output["foo"] == "bar"
    assert output["error"]["Error"] == "Error here"


# -- the context object (CONTEXT) --------------------------------------------------------


def test_map_item_context_example(sfn):
    """CONTEXT, "Context object data for Map states": Index, Value and Source (STATE_DATA
    for items from the state input)."""
    definition = {
        "StartAt": "ExampleMapState",
        "States": {
            "ExampleMapState": {
                "Type": "Map",
                "ItemSelector": {
                    "ContextIndex.$": "$$.Map.Item.Index",
                    "ContextValue.$": "$$.Map.Item.Value",
                    "ContextSource.$": "$$.Map.Item.Source",
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "TestPass",
                    "States": {"TestPass": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    people = [{"who": "bob"}, {"who": "meg"}, {"who": "joe"}]
    assert output_of(sfn, definition, people) == [
        {"ContextIndex": i, "ContextValue": person, "ContextSource": "STATE_DATA"}
        for i, person in enumerate(people)
    ]


def test_input_path_output_path_and_items_path_read_the_context_object(sfn):
    """CONTEXT: "JSONPath states can refer to the context ($$.) from InputPath, OutputPath,
    ItemsPath". The state data holds a same-named ``Execution`` key that must not answer."""
    decoy = pass_state(Result={"Execution": {"Input": {"items": ["data"]}, "Name": "data"}})
    execution_input = {"items": [1, 2], "note": "execution input"}
    reads_input = machine(
        ("Replace", decoy),
        ("FromInput", pass_state(InputPath="$$.Execution.Input", ResultPath="$.fromInput")),
        (
            "Each",
            {
                "Type": "Map",
                "ItemsPath": "$$.Execution.Input.items",
                "ItemProcessor": machine(("Echo", pass_state())),
                "ResultPath": "$.items",
            },
        ),
    )
    assert output_of(sfn, reads_input, execution_input) == {
        **decoy["Result"],
        "fromInput": execution_input,
        "items": [1, 2],
    }
    reads_name = machine(("Replace", decoy), ("Named", pass_state(OutputPath="$$.Execution.Name")))
    described = execute(sfn, reads_name, execution_input)
    assert json.loads(described["output"]) == described["name"]


def test_execution_context_fields(sfn):
    """CONTEXT, "Context object fields": Id, Name, RoleArn, StartTime (ISO 8601 in UTC, ``Z``,
    milliseconds, no fraction when it is zero), State, StateMachine."""
    templates = {
        "id.$": "$$.Execution.Id",
        "name.$": "$$.Execution.Name",
        "role.$": "$$.Execution.RoleArn",
        "start.$": "$$.Execution.StartTime",
        "entered.$": "$$.State.EnteredTime",
        "state.$": "$$.State.Name",
        "machineName.$": "$$.StateMachine.Name",
        "machineId.$": "$$.StateMachine.Id",
    }
    described = execute(sfn, machine(("Test", pass_state(Parameters=templates))))
    output = json.loads(described["output"])
    assert output["id"] == described["executionArn"]
    assert output["name"] == described["name"]
    assert output["role"] == ROLE
    assert output["state"] == "Test"
    assert output["machineId"] == described["stateMachineArn"]
    assert output["machineName"] == described["stateMachineArn"].rsplit(":", 1)[1]
    documented = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z")
    assert documented.fullmatch(output["start"]) and documented.fullmatch(output["entered"])
    started_ms = round(described["startDate"].timestamp() * 1000)  # the API's millisecond
    seconds, millis = divmod(started_ms, 1000)
    expected = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert output["start"] == expected + (f".{millis:03d}Z" if millis else "Z")


# -- Fail (FAIL) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fail", "state_input", "documented"),
    [
        ({"Cause": "Invalid response.", "Error": "ErrorA"}, {}, ("ErrorA", "Invalid response.")),
        (
            {"CausePath": "$.Cause", "ErrorPath": "$.Error"},
            {"Error": "ErrorB", "Cause": "Bad input."},
            ("ErrorB", "Bad input."),
        ),
        (
            {
                "CausePath": "States.Format('This is a custom error message for {}, "
                "caused by {}.', $.Error, $.Cause)",
                "ErrorPath": "States.Format('{}', $.Error)",
            },
            {"Error": "ErrorC", "Cause": "a timeout"},
            ("ErrorC", "This is a custom error message for ErrorC, caused by a timeout."),
        ),
    ],
)
def test_fail_state_examples(sfn, fail, state_input, documented):
    """FAIL, "Fail state definition examples": static, reference paths, States.Format."""
    definition = machine(("FailState", {"Type": "Fail", **fail}))
    assert failure_of(sfn, definition, state_input) == documented


@pytest.mark.parametrize("field", ["ErrorPath", "CausePath"])
def test_fail_path_selecting_a_non_string_is_a_runtime_error(sfn, field):
    """FAIL: "When resolved, the reference path must select a field that contains a string
    value"."""
    definition = machine(("FailState", {"Type": "Fail", field: "$.code"}))
    error, cause = failure_of(sfn, definition, {"code": 42})
    assert error == "States.Runtime"
    assert field in cause and "not a string" in cause


def test_fail_path_calling_an_intrinsic_that_is_not_listed_is_refused(sfn):
    """FAIL: ErrorPath and CausePath may call only the listed string intrinsics."""
    definition = machine(("FailState", {"Type": "Fail", "ErrorPath": "States.MathAdd(1, 2)"}))
    with pytest.raises(sfn.exceptions.InvalidDefinition) as caught:
        execute(sfn, definition)
    assert "States.MathAdd" in caught.value.response["Error"]["Message"]


# -- Choice (CHOICE) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "matching", "other"),
    [
        ({"Variable": "$.foo", "NumericEquals": 1}, {"foo": 1}, {"foo": 2}),
        ({"Variable": "$.foo", "StringEquals": "MyString"}, {"foo": "MyString"}, {"foo": "x"}),
        (
            {"Variable": "$.foo", "StringGreaterThan": "MyStringABC"},
            {"foo": "MyStringABD"},
            {"foo": "MyStringAB"},
        ),
        (
            {"Variable": "$.possiblyNullValue", "IsNull": True},
            {"possiblyNullValue": None},
            {"possiblyNullValue": 0},
        ),
        (
            {
                "And": [
                    {"Variable": "$.keyThatMightNotExist", "IsPresent": True},
                    {"Variable": "$.keyThatMightNotExist", "StringEquals": "foo"},
                ]
            },
            {"keyThatMightNotExist": "foo"},
            {},
        ),
        (
            {"Variable": "$.foo", "StringMatches": "log-*.txt"},
            {"foo": "log-2024.txt"},
            {"foo": "log.txt"},
        ),
        (
            {"Variable": "$.foo", "TimestampEquals": "2001-01-01T12:00:00Z"},
            {"foo": "2001-01-01T12:00:00Z"},
            {"foo": "2001-01-01T12:00:01Z"},
        ),
        (
            {"Variable": "$.foo", "StringEqualsPath": "$.bar"},
            {"foo": "a", "bar": "a"},
            {"foo": "a", "bar": "b"},
        ),
        # "Step Functions doesn't attempt to match a numeric field to a string value."
        ({"Variable": "$.foo", "NumericEquals": 1}, {"foo": 1}, {"foo": "1"}),
    ],
)
def test_choice_rule_examples(sfn, rule, matching, other):
    """CHOICE, "Choice Rules (JSONPath)": each example rule, with an input that matches it and
    one that does not (the Default)."""
    definition = {
        "StartAt": "Decide",
        "States": {
            "Decide": {
                "Type": "Choice",
                "Choices": [{**rule, "Next": "Matched"}],
                "Default": "Other",
            },
            "Matched": {"Type": "Pass", "Result": "matched", "End": True},
            "Other": {"Type": "Pass", "Result": "other", "End": True},
        },
    }
    assert output_of(sfn, definition, matching) == "matched"
    assert output_of(sfn, definition, other) == "other"


def test_choice_without_a_match_or_default_fails(sfn):
    """CHOICE: "If no Choices evaluate to true ... and no Default is provided, the state
    machine will throw an error"."""
    rule = {"Variable": "$.foo", "NumericEquals": 1, "Next": "Matched"}
    definition = {
        "StartAt": "Decide",
        "States": {
            "Decide": {"Type": "Choice", "Choices": [rule]},
            "Matched": {"Type": "Succeed"},
        },
    }
    error, _ = failure_of(sfn, definition, {"foo": 2})
    assert error == "States.NoChoiceMatched"


# -- inline Map (INLINE_MAP) -----------------------------------------------------------------

SHIPMENT = {
    "ship-date": "2016-03-14T01:59:00Z",
    "detail": {
        "delivery-partner": "UQS",
        "shipped": [
            {"prod": "R31", "dest-code": 9511, "quantity": 1344},
            {"prod": "S39", "dest-code": 9511, "quantity": 40},
            {"prod": "R31", "dest-code": 9833, "quantity": 12},
            {"prod": "R40", "dest-code": 9860, "quantity": 887},
            {"prod": "R40", "dest-code": 9511, "quantity": 1220},
        ],
    },
}


def validate_all(**fields) -> dict:
    """The guide's "Validate-All" Map state; its ship-val Lambda is a Pass that returns its
    input, so each iteration's output is the input the guide documents."""
    return machine(
        (
            "Validate-All",
            {
                "Type": "Map",
                "InputPath": "$.detail",
                "ItemsPath": "$.shipped",
                "ResultPath": "$.detail.shipped",
                "ItemSelector": {
                    "parcel.$": "$$.Map.Item.Value",
                    "courier.$": "$.delivery-partner",
                },
                "ItemProcessor": machine(("Validate", pass_state())),
                **fields,
            },
        )
    )


def test_inline_map_item_selector_example(sfn):
    """INLINE_MAP, "Inline Map state example with ItemSelector": each iteration gets
    ``{"parcel": <item>, "courier": "UQS"}``; ResultPath overwrites ``detail.shipped``."""
    output = output_of(sfn, validate_all(MaxConcurrency=0), SHIPMENT)
    shipped = SHIPMENT["detail"]["shipped"]
    assert output == {
        **SHIPMENT,
        "detail": {
            "delivery-partner": "UQS",
            "shipped": [{"parcel": item, "courier": "UQS"} for item in shipped],
        },
    }


def test_inline_map_max_concurrency_path(sfn):
    """INLINE_MAP, MaxConcurrencyPath: a reference path to a non-negative integer."""
    state_input = {**SHIPMENT, "detail": {**SHIPMENT["detail"], "limit": 2}}
    output = output_of(sfn, validate_all(MaxConcurrencyPath="$.limit"), state_input)
    assert [entry["parcel"] for entry in output["detail"]["shipped"]] == SHIPMENT["detail"][
        "shipped"
    ]
    state_input["detail"]["limit"] = "two"
    error, cause = failure_of(sfn, validate_all(MaxConcurrencyPath="$.limit"), state_input)
    assert error == "States.Runtime" and "MaxConcurrencyPath" in cause


def test_inline_map_refuses_both_max_concurrency_fields(sfn):
    """INLINE_MAP: "A Map state cannot include both MaxConcurrency and MaxConcurrencyPath"."""
    with pytest.raises(sfn.exceptions.InvalidDefinition):
        execute(sfn, validate_all(MaxConcurrency=1, MaxConcurrencyPath="$.limit"))


ITEMS_PATH = "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemspath.html"


def test_items_path_selects_one_of_two_arrays(sfn):
    """ITEMS_PATH: ``$.ThingsPiratesSay`` runs the SayWord Pass state once per pirate word."""
    pirates = [{"say": "Avast!"}, {"say": "Yar!"}, {"say": "Walk the Plank!"}]
    giants = [{"say": "Fee!"}, {"say": "Fi!"}, {"say": "Fo!"}, {"say": "Fum!"}]
    map_state = {
        "Type": "Map",
        "ItemsPath": "$.ThingsPiratesSay",
        "ItemProcessor": machine(("SayWord", pass_state())),
    }
    state_input = {"ThingsPiratesSay": pirates, "ThingsGiantsSay": giants}
    assert output_of(sfn, machine(("PiratesSay", map_state)), state_input) == pirates


def test_items_path_selecting_an_object_is_refused_at_run_time(sfn):
    """ITEMS_PATH: AWS iterates the key-value pairs of an object; the local backend iterates
    arrays only and says so (README), instead of guessing the shape of a pair."""
    web = {
        "server1": {"port": 80, "status": "active"},
        "server2": {"port": 8080, "status": "inactive"},
    }
    map_state = {
        "Type": "Map",
        "ItemsPath": "$.servers.web",
        "ItemProcessor": machine(("CheckServer", pass_state())),
    }
    state_input = {"environment": "production", "servers": {"web": web}}
    error, cause = failure_of(sfn, machine(("ProcessWebServers", map_state)), state_input)
    assert error == "States.Runtime"
    assert "JSON object" in cause and "arrays only" in cause


# -- Parallel (PARALLEL) -------------------------------------------------------------------


def test_parallel_fun_with_math_example(sfn):
    """PARALLEL, "Parallel State Input and Output Processing": [3, 2] -> [5, 1] (the Add and
    Subtract tasks are Lambdas here)."""
    branches = [
        machine(("Add", {"Type": "Task", "Resource": function_arn("Add")})),
        machine(("Subtract", {"Type": "Task", "Resource": function_arn("Subtract")})),
    ]
    definition = machine(("FunWithMath", {"Type": "Parallel", "Branches": branches}))
    assert output_of(sfn, definition, [3, 2]) == [5, 1]


def test_parallel_fails_when_a_branch_fails(sfn):
    """PARALLEL, "Error Handling": a branch reaching a Fail state fails the Parallel state and,
    unhandled, the execution."""
    branches = [
        machine(("LookupAddress", {"Type": "Task", "Resource": function_arn("AddressFinder")})),
        machine(("LookupPhone", {"Type": "Fail", "Error": "PhoneNotFound", "Cause": "no phone"})),
    ]
    definition = machine(("LookupCustomerInfo", {"Type": "Parallel", "Branches": branches}))
    assert failure_of(sfn, definition, {"who": "Jane"}) == ("PhoneNotFound", "no phone")


# -- what the local backend refuses (README "Step Functions locally") --------------------

INLINE_ITEMS = machine(("Echo", pass_state()))


@pytest.mark.parametrize(
    ("definition", "named"),
    [
        ({**machine(("A", pass_state())), "QueryLanguage": "JSONata"}, "JSONata"),
        (machine(("A", pass_state(Output="{% $states.input %}"))), "JSONata"),
        (
            {
                "StartAt": "C",
                "States": {
                    "C": {"Type": "Choice", "Choices": [{"Condition": "{% true %}", "Next": "D"}]},
                    "D": {"Type": "Succeed"},
                },
            },
            "JSONata",
        ),
        (machine(("A", pass_state(Assign={"x": 1}))), "variables"),
        (machine(("A", pass_state(InputPath="$x"))), "variable"),
        (
            machine(
                (
                    "A",
                    {
                        "Type": "Map",
                        "ItemProcessor": {
                            **INLINE_ITEMS,
                            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        },
                    },
                )
            ),
            "DISTRIBUTED",
        ),
        (
            machine(("A", {"Type": "Map", "ItemProcessor": INLINE_ITEMS, "ItemReader": {}})),
            "Distributed Map",
        ),
        (
            machine(("A", {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync"})),
            "integration",
        ),
        (
            machine(
                (
                    "A",
                    {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                        "Parameters": {"FunctionName": "HelloFunction"},
                    },
                )
            ),
            "integration",
        ),
        (
            machine(
                (
                    "A",
                    {"Type": "Task", "Resource": f"arn:aws:states:{ACCOUNT_REGION}:activity:x"},
                )
            ),
            "integration",
        ),
        (
            machine(
                (
                    "A",
                    {
                        "Type": "Task",
                        "Resource": function_arn("HelloFunction"),
                        "Credentials": {"RoleArn": ROLE},
                    },
                )
            ),
            "Credentials",
        ),
    ],
)
def test_refused_features_are_invalid_definitions(sfn, definition, named):
    """A definition the local backend cannot run is the ClientError InvalidDefinition that
    CreateStateMachine and UpdateStateMachine document, with one sentence naming it."""
    name = f"refused-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as caught:
        sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    assert isinstance(caught.value, sfn.exceptions.InvalidDefinition)
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidDefinition"
    assert named in error["Message"] and error["Message"].count(". ") == 0
    assert name not in [m["name"] for m in sfn.list_state_machines()["stateMachines"]]

    runnable = machine(("A", pass_state()))
    arn = sfn.create_state_machine(name=name, definition=json.dumps(runnable), roleArn=ROLE)[
        "stateMachineArn"
    ]
    with pytest.raises(sfn.exceptions.InvalidDefinition):
        sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(definition))
    described = run_machine(sfn, arn, {"still": "the runnable definition"})
    assert json.loads(described["output"]) == {"still": "the runnable definition"}


def test_a_definition_that_is_not_json_is_an_invalid_definition(sfn):
    with pytest.raises(sfn.exceptions.InvalidDefinition) as caught:
        sfn.create_state_machine(name="not-json", definition="{StartAt", roleArn=ROLE)
    assert "not JSON" in caught.value.response["Error"]["Message"]
