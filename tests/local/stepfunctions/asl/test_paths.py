"""InputPath / Parameters / ResultSelector / ResultPath / OutputPath and payload templates."""

import pytest

from pipeline.local.stepfunctions.asl.errors import RuntimeFailure
from pipeline.local.stepfunctions.asl.paths import (
    PathSyntaxError,
    apply_input_path,
    apply_output_path,
    apply_result_path,
    is_definite,
    reference_steps,
    select,
)
from pipeline.local.stepfunctions.asl.templates import check_template, render

DATA = {"a": {"b": [10, 20, 30]}, "items": [{"x": 1}, {"x": 2}, {"x": 3}], "s": "text"}
CONTEXT = {
    "Execution": {"Id": "arn:aws:states:us-east-1:0:execution:sm:run-1", "Name": "run-1"},
    "State": {"Name": "S", "EnteredTime": "2024-01-01T00:00:00.000Z", "RetryCount": 0},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DATA),
        ("$.a.b", [10, 20, 30]),
        ("$.a.b[1]", 20),
        ("$['a']['b'][2]", 30),
        ("$.items[*].x", [1, 2, 3]),
        ("$.items[?(@.x > 1)].x", [2, 3]),
        ("$.items[0:2]", [{"x": 1}, {"x": 2}]),
        ("$..x", [1, 2, 3]),
        ("$.nothing[*]", []),
    ],
)
def test_select_definite_and_indefinite_paths(path, expected):
    assert select(path, DATA) == expected


def test_select_missing_definite_path_is_a_runtime_error():
    with pytest.raises(RuntimeFailure) as caught:
        select("$.missing", DATA)
    assert caught.value.error == "States.Runtime"
    assert select("$.missing", DATA, default=None) is None


def test_definite_paths_and_reference_steps():
    assert is_definite("$.a['b'][0]")
    assert not is_definite("$.a[*]")
    assert reference_steps("$.a.b[1]") == ["a", "b", 1]
    with pytest.raises(PathSyntaxError):
        reference_steps("$..x")
    with pytest.raises(PathSyntaxError):
        select("a.b", DATA)


def test_input_and_output_path_null_give_empty_object():
    assert apply_input_path(None, DATA, {}) == {}
    assert apply_output_path(None, DATA, {}) == {}
    assert apply_input_path("$.s", DATA, {}) == "text"


def test_input_and_output_paths_read_double_dollar_from_the_context_object():
    # A same-named key of the data must not answer a $$ path.
    data = {"Execution": {"Input": "from the data"}}
    context = {"Execution": {"Input": {"from": "context"}}}
    assert apply_input_path("$$.Execution.Input", data, context) == {"from": "context"}
    assert apply_output_path("$$.Execution.Input", data, context) == {"from": "context"}


@pytest.mark.parametrize(
    ("path", "state_input", "expected"),
    [
        ("$", {"k": 1}, "R"),
        (None, {"k": 1}, {"k": 1}),
        ("$.r", {"k": 1}, {"k": 1, "r": "R"}),
        ("$.k", {"k": 1}, {"k": "R"}),
        ("$.new.deep.r", {"k": 1}, {"k": 1, "new": {"deep": {"r": "R"}}}),
        ("$.k2.r", {"k2": {"old": 0}}, {"k2": {"old": 0, "r": "R"}}),
        ("$.list[1]", {"list": [0, 0]}, {"list": [0, "R"]}),
    ],
)
def test_result_path_merges(path, state_input, expected):
    assert apply_result_path(path, state_input, "R") == expected


def test_result_path_does_not_mutate_the_input():
    state_input = {"a": {"b": 1}}
    apply_result_path("$.a.c", state_input, 2)
    assert state_input == {"a": {"b": 1}}


@pytest.mark.parametrize(
    ("path", "state_input"),
    [("$.r", "a string"), ("$.k.r", {"k": 5}), ("$.list[5]", {"list": []})],
)
def test_result_path_into_a_non_object_is_a_runtime_error(path, state_input):
    with pytest.raises(RuntimeFailure):
        apply_result_path(path, state_input, "R")


def test_render_payload_template_with_paths_context_and_intrinsics():
    template = {
        "static": {"nested": [1, {"keep": True}]},
        "first.$": "$.a.b[0]",
        "xs.$": "$.items[*].x",
        "name.$": "$$.Execution.Name",
        "deep": {"id.$": "$$.Execution.Id", "list": [{"v.$": "$.s"}]},
        "msg.$": "States.Format('{} of {}', $.s, $$.State.Name)",
    }
    assert render(template, DATA, CONTEXT) == {
        "static": {"nested": [1, {"keep": True}]},
        "first": 10,
        "xs": [1, 2, 3],
        "name": "run-1",
        "deep": {"id": CONTEXT["Execution"]["Id"], "list": [{"v": "text"}]},
        "msg": "text of S",
    }


def test_render_missing_path_names_the_field():
    with pytest.raises(RuntimeFailure, match=r"'gone\.\$'"):
        render({"gone.$": "$.nope"}, DATA, CONTEXT)


@pytest.mark.parametrize(
    "template",
    [{"x.$": "not a path"}, {"x.$": "States.Nope(1)"}, {"a": [{"x.$": "States.Array("}]}],
)
def test_check_template_rejects_bad_expressions(template):
    with pytest.raises(ValueError):
        check_template(template)
