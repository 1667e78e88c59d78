"""Choice rules: every comparison operator, the Path variants, type tests, And/Or/Not."""

import pytest

from pipeline.local.stepfunctions.asl.choice import OPERATORS, check_rule, matches
from pipeline.local.stepfunctions.asl.errors import RuntimeFailure

DATA = {
    "s": "beta",
    "n": 5,
    "f": 2.5,
    "b": True,
    "t": "2024-05-01T12:00:00Z",
    "null": None,
    "other": {"s": "beta", "n": 5, "b": True, "t": "2024-05-01T12:00:00+00:00", "low": 1},
    "file": "log-2024.txt",
}
CONTEXT = {"Execution": {"Name": "run-1"}}

CASES = [
    ("StringEquals", "$.s", "beta", True),
    ("StringEquals", "$.s", "Beta", False),
    ("StringEquals", "$.n", "5", False),
    ("StringLessThan", "$.s", "gamma", True),
    ("StringGreaterThan", "$.s", "alpha", True),
    ("StringLessThanEquals", "$.s", "beta", True),
    ("StringGreaterThanEquals", "$.s", "c", False),
    ("NumericEquals", "$.n", 5, True),
    ("NumericEquals", "$.n", 5.0, True),
    ("NumericEquals", "$.s", 5, False),
    ("NumericEquals", "$.b", 1, False),
    ("NumericLessThan", "$.f", 3, True),
    ("NumericGreaterThan", "$.f", 3, False),
    ("NumericLessThanEquals", "$.n", 5, True),
    ("NumericGreaterThanEquals", "$.n", 6, False),
    ("BooleanEquals", "$.b", True, True),
    ("BooleanEquals", "$.n", True, False),
    ("TimestampEquals", "$.t", "2024-05-01T14:00:00+02:00", True),
    ("TimestampLessThan", "$.t", "2024-05-02T00:00:00Z", True),
    ("TimestampGreaterThan", "$.t", "2024-05-02T00:00:00Z", False),
    ("TimestampLessThanEquals", "$.t", "2024-05-01T12:00:00Z", True),
    ("TimestampGreaterThanEquals", "$.t", "2025-01-01T00:00:00Z", False),
    ("TimestampEquals", "$.s", "2024-05-01T12:00:00Z", False),
    ("StringEqualsPath", "$.s", "$.other.s", True),
    ("StringLessThanPath", "$.s", "$.file", True),
    ("StringGreaterThanPath", "$.s", "$.file", False),
    ("StringLessThanEqualsPath", "$.s", "$.other.s", True),
    ("StringGreaterThanEqualsPath", "$.s", "$.other.s", True),
    ("StringEqualsPath", "$.s", "$$.Execution.Name", False),
    ("NumericEqualsPath", "$.n", "$.other.n", True),
    ("NumericLessThanPath", "$.other.low", "$.n", True),
    ("NumericGreaterThanPath", "$.n", "$.other.low", True),
    ("NumericLessThanEqualsPath", "$.n", "$.other.n", True),
    ("NumericGreaterThanEqualsPath", "$.other.low", "$.n", False),
    ("NumericEqualsPath", "$.n", "$.other.s", False),
    ("BooleanEqualsPath", "$.b", "$.other.b", True),
    ("TimestampEqualsPath", "$.t", "$.other.t", True),
    ("TimestampLessThanPath", "$.t", "$.other.t", False),
    ("TimestampGreaterThanPath", "$.t", "$.other.t", False),
    ("TimestampLessThanEqualsPath", "$.t", "$.other.t", True),
    ("TimestampGreaterThanEqualsPath", "$.t", "$.other.t", True),
    ("IsNull", "$.null", True, True),
    ("IsNull", "$.s", True, False),
    ("IsNull", "$.s", False, True),
    ("IsPresent", "$.s", True, True),
    ("IsPresent", "$.missing", True, False),
    ("IsPresent", "$.missing", False, True),
    ("IsPresent", "$$.Execution.Name", True, True),
    ("IsNumeric", "$.f", True, True),
    ("IsNumeric", "$.b", True, False),
    ("IsString", "$.s", True, True),
    ("IsString", "$.n", False, True),
    ("IsBoolean", "$.b", True, True),
    ("IsTimestamp", "$.t", True, True),
    ("IsTimestamp", "$.s", True, False),
    ("IsTimestamp", "$.other.t", True, True),
    ("StringMatches", "$.file", "log-*.txt", True),
    ("StringMatches", "$.file", "*.csv", False),
    ("StringMatches", "$.file", "log-2024.txt", True),
    ("StringMatches", "$.n", "*", False),
]


@pytest.mark.parametrize(("operator", "variable", "operand", "expected"), CASES)
def test_operator_table(operator, variable, operand, expected):
    rule = {"Variable": variable, operator: operand}
    check_rule({**rule, "Next": "X"}, top_level=True)
    assert matches(rule, DATA, CONTEXT) is expected


def test_every_operator_is_in_the_table():
    assert {case[0] for case in CASES} == OPERATORS


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (r"a\*b", "a*b", True),
        (r"a\*b", "axb", False),
        (r"a\\*", "a\\anything", True),
        ("*", "", True),
        ("a*c*e", "abcde", True),
    ],
)
def test_string_matches_escapes(pattern, text, expected):
    assert matches({"Variable": "$.v", "StringMatches": pattern}, {"v": text}, {}) is expected


def test_and_or_not_nest():
    rule = {
        "And": [
            {"Variable": "$.n", "NumericGreaterThan": 1},
            {
                "Or": [
                    {"Variable": "$.s", "StringEquals": "x"},
                    {"Not": {"Variable": "$.b", "BooleanEquals": False}},
                ]
            },
        ]
    }
    check_rule({**rule, "Next": "X"}, top_level=True)
    assert matches(rule, DATA, CONTEXT)
    assert not matches({"Not": rule}, DATA, CONTEXT)


def test_missing_variable_is_a_runtime_error():
    with pytest.raises(RuntimeFailure):
        matches({"Variable": "$.missing", "StringEquals": "x"}, DATA, CONTEXT)


@pytest.mark.parametrize(
    ("rule", "top_level"),
    [
        ({"Variable": "$.s", "StringEquals": "x"}, True),
        ({"Variable": "$.s", "StringEquals": "x", "Next": "X"}, False),
        ({"Variable": "$.s", "Next": "X"}, True),
        ({"Variable": "$.s", "StringEquals": "x", "NumericEquals": 1, "Next": "X"}, True),
        ({"Variable": "$.s", "StringEquals": 1, "Next": "X"}, True),
        ({"Variable": "$.s", "NumericEquals": "1", "Next": "X"}, True),
        ({"Variable": "$.s", "IsNull": "yes", "Next": "X"}, True),
        ({"Variable": "$.s", "TimestampEquals": "yesterday", "Next": "X"}, True),
        ({"Variable": "$.s", "StringEqualsPath": "nope", "Next": "X"}, True),
        ({"And": [], "Next": "X"}, True),
        ({"Not": "x", "Next": "X"}, True),
        ({"Variable": "$.s", "StringEquals": "x", "Bogus": 1, "Next": "X"}, True),
    ],
)
def test_check_rule_rejects(rule, top_level):
    with pytest.raises(ValueError):
        check_rule(rule, top_level)
