"""Intrinsic functions: the tokenizer, the parser and every registered function."""

import base64
import hashlib
import json
import uuid
from pathlib import Path

import pytest

from pipeline.local.stepfunctions.asl.errors import RuntimeFailure
from pipeline.local.stepfunctions.asl.intrinsics import (
    FUNCTIONS,
    Call,
    IntrinsicSyntaxError,
    PathArg,
    evaluate,
    parse_call,
    paths_in,
    tokenize,
)

VALUES = {
    "$.name": "World",
    "$.list": [1, 2, 2, 3, {"a": 1}, {"a": 1}],
    "$.n": 7,
    "$.csv": "a,b,,c",
    "$.json": '{"k": [1, 2]}',
    "$.obj": {"x": 1, "y": 2},
    "$.long": "a" * 10_000,
    "$$.Execution.Name": "exec-1",
    "$.a['b,c'][0]": "quoted",
}


def run(text):
    return evaluate(text, lambda path: VALUES[path])


def test_tokenizer_kinds():
    tokens = tokenize(
        r"States.Array('it\'s', -1.5e2, 3, null, true, false, $.a['x, y'][0], $$.Map)"
    )
    assert [kind for kind, _ in tokens] == [
        "name", "(", "string", ",", "number", ",", "number", ",", "word", ",", "word", ",",
        "word", ",", "path", ",", "path", ")",
    ]  # fmt: skip
    values = [value for kind, value in tokens if kind not in "(),"]
    assert values == [
        "States.Array",
        "it's",
        -150.0,
        3,
        None,
        True,
        False,
        "$.a['x, y'][0]",
        "$$.Map",
    ]


def test_parser_builds_nested_calls():
    call = parse_call("States.Format('{}-{}', $.a, States.ArrayLength($.b))")
    assert call.name == "States.Format"
    assert call.args[1] == PathArg("$.a")
    assert call.args[2] == Call("States.ArrayLength", (PathArg("$.b"),))
    assert paths_in(call) == ["$.a", "$.b"]


@pytest.mark.parametrize(
    "text",
    [
        "States.Array(",
        "States.Array(1,)",
        "States.Array(1) extra",
        "States.Unknown(1)",
        "States.ArrayLength()",
        "States.UUID(1)",
        "States.Format('unterminated)",
        "States.Array(bogus)",
        "States.Array(1 2)",
    ],
)
def test_syntax_errors(text):
    with pytest.raises(IntrinsicSyntaxError):
        parse_call(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('Hello, {}!', $.name)", "Hello, World!"),
        (r"States.Format('\{literal\} {} \\ \'q\'', $.n)", "{literal} 7 \\ 'q'"),
        ("States.Format('{} {} {}', null, true, $.obj)", 'null true {"x":1,"y":2}'),
        ("States.Format($.name)", "World"),
        ("States.StringToJson($.json)", {"k": [1, 2]}),
        ("States.JsonToString($.obj)", '{"x":1,"y":2}'),
        ("States.Array()", []),
        ("States.Array($.n, 'a', 1.5, null, States.Array(1))", [7, "a", 1.5, None, [1]]),
        ("States.ArrayPartition(States.ArrayRange(1, 5, 1), 2)", [[1, 2], [3, 4], [5]]),
        ("States.ArrayContains($.list, 3)", True),
        ("States.ArrayContains($.list, $.obj)", False),
        ("States.ArrayContains(States.Array(1), true)", False),
        ("States.ArrayRange(0, 10, 3)", [0, 3, 6, 9]),
        ("States.ArrayRange(5, 1, -2)", [5, 3, 1]),
        ("States.ArrayGetItem($.list, 3)", 3),
        ("States.ArrayLength($.list)", 6),
        ("States.ArrayUnique($.list)", [1, 2, 3, {"a": 1}]),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
        ("States.Hash('input', 'SHA-256')", hashlib.sha256(b"input").hexdigest()),
        ("States.Hash($.n, 'MD5')", hashlib.md5(b"7").hexdigest()),
        ("States.Hash($.long, 'MD5')", hashlib.md5(b"a" * 10_000).hexdigest()),
        ("States.JsonMerge($.obj, States.StringToJson('{\"y\": 3}'), false)", {"x": 1, "y": 3}),
        ("States.MathAdd($.n, -10)", -3),
        ("States.MathAdd(1.7, 1)", 3),
        ("States.MathAdd(2147483647, -2147483648)", -1),
        ("States.ArrayPartition($.list, 2.4)", [[1, 2], [2, 3], [{"a": 1}, {"a": 1}]]),
        ("States.ArrayRange(0.6, 4.2, 1.9)", [1, 3]),
        ("States.StringSplit($.csv, ',')", ["a", "b", "c"]),
        (
            "States.StringSplit('This.is+a,test=string', '.+,=')",
            ["This", "is", "a", "test", "string"],
        ),
        ("States.Format('{}', $$.Execution.Name)", "exec-1"),
        ("States.ArrayGetItem(States.StringSplit($.a['b,c'][0], 'u'), 0)", "q"),
    ],
)
def test_functions(text, expected):
    assert run(text) == expected


def test_every_registered_function_is_tested_here():
    source = Path(__file__).read_text()
    assert all(name + "(" in source for name in FUNCTIONS)


def test_math_random_range_and_seed():
    draws = {run(f"States.MathRandom(1, 4, {seed})") for seed in range(200)}
    assert draws == {1, 2, 3}  # start inclusive, end exclusive
    assert run("States.MathRandom(0, 1000, 42)") == run("States.MathRandom(0, 1000, 42)")


def test_uuid_is_version_4():
    assert uuid.UUID(run("States.UUID()")).version == 4


def test_base64_round_trip_of_unicode():
    text = "héllo ✓"
    encoded = run(f"States.Base64Encode('{text}')")
    assert base64.b64decode(encoded).decode() == text


def test_results_are_plain_json_values():
    value = run("States.Array('x')")
    assert type(value[0]) is str
    assert json.dumps(value) == '["x"]'


@pytest.mark.parametrize(
    "text",
    [
        "States.Format('{} {}', 1)",
        "States.StringToJson('{bad')",
        "States.ArrayGetItem($.list, 99)",
        "States.ArrayPartition($.list, 0)",
        "States.ArrayRange(0, 5000, 1)",
        "States.ArrayRange(0, 5, 0)",
        "States.ArrayLength($.name)",
        "States.Base64Decode('***')",
        "States.Hash('x', 'SHA-3')",
        "States.Hash(States.Format('{}x', $.long), 'MD5')",
        "States.JsonMerge($.obj, $.obj, true)",
        "States.MathAdd('1', 2)",
        "States.MathAdd(2147483648, 0)",
        "States.MathAdd(0, -2147483649)",
        "States.MathRandom(5, 5)",
        "States.StringSplit($.n, ',')",
    ],
)
def test_bad_arguments_are_runtime_errors(text):
    with pytest.raises(RuntimeFailure) as caught:
        run(text)
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause.startswith("The function 'States.")


def test_an_open_escape_is_a_runtime_error():
    # "If an open escape backslash \ is found in the intrinsic invocation string, the
    # interpreter will return a runtime error" (intrinsic-functions.html, reserved characters).
    assert run(r"States.Format('\{\}\'\\')") == "{}'\\"
    with pytest.raises(RuntimeFailure) as caught:
        run(r"States.Format('a\qb')")
    assert "open escape" in caught.value.cause
