"""Template parameters: defaults, types, constraints and what Ref returns for each."""

from __future__ import annotations

import re

import pytest

from pipeline.local.cloudformation.template import ResolvedStack, TemplateError, resolve_stack


def _resolve(parameters: dict, given: dict | None = None) -> ResolvedStack:
    """Resolve a template with ``parameters`` whose one resource echoes every Ref."""
    template = {
        "Parameters": parameters,
        "Resources": {
            "Echo": {
                "Type": "AWS::CloudFormation::WaitConditionHandle",
                "Properties": {name: {"Ref": name} for name in parameters},
            }
        },
    }
    return resolve_stack(template, "stack", given or {})


def _refs(parameters: dict, given: dict | None = None) -> dict:
    return _resolve(parameters, given).resources["Echo"].properties


def test_defaults_are_applied_and_every_value_is_a_string():
    stack = _resolve(
        {
            "Name": {"Type": "String", "Default": "n2n"},
            "Vcpus": {"Type": "Number", "Default": 0.25},
            "Count": {"Type": "Number", "Default": 3},
            "Flag": {"Type": "String", "Default": True},
            "Given": {"Type": "String"},
        },
        {"Given": "value"},
    )
    assert stack.parameters == {
        "Name": "n2n",
        "Vcpus": "0.25",
        "Count": "3",
        "Flag": "true",
        "Given": "value",
    }


def test_ref_of_number_is_a_string_and_of_lists_is_a_list():
    refs = _refs(
        {
            "Count": {"Type": "Number", "Default": 3},
            "Names": {"Type": "CommaDelimitedList", "Default": "a, b ,c"},
            "Sizes": {"Type": "List<Number>", "Default": "1,2"},
            "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>", "Default": "subnet-1,subnet-2"},
            "Vpc": {"Type": "AWS::EC2::VPC::Id", "Default": "vpc-1"},
            "Empty": {"Type": "CommaDelimitedList", "Default": ""},
        }
    )
    assert refs == {
        "Count": "3",
        "Names": ["a", "b", "c"],
        "Sizes": ["1", "2"],
        "Subnets": ["subnet-1", "subnet-2"],
        "Vpc": "vpc-1",
        "Empty": [""],
    }


def test_given_values_override_defaults_and_are_stringified():
    stack = _resolve({"Count": {"Type": "Number", "Default": 3}}, {"Count": 7})
    assert stack.parameters == {"Count": "7"}
    assert stack.resources["Echo"].properties == {"Count": "7"}


@pytest.mark.parametrize(
    ("declaration", "value", "message"),
    [
        (
            {"Type": "Number", "AllowedValues": [0.25, 0.5, 1, 2, 4]},
            "3",
            "Parameter P must be one of 0.25, 0.5, 1, 2, 4: got 3.",
        ),
        (
            {"Type": "String", "AllowedValues": ["Retain", "Delete"]},
            "Keep",
            "Parameter P must be one of Retain, Delete: got Keep.",
        ),
        (
            {"Type": "String", "AllowedPattern": "[a-z]+"},
            "abc1",
            "Parameter P must be a match for the pattern [a-z]+: got abc1.",
        ),
        (
            {"Type": "String", "MinLength": 3},
            "ab",
            "Parameter P must be at least 3 characters long: got ab.",
        ),
        (
            {"Type": "String", "MaxLength": 2},
            "abc",
            "Parameter P must be at most 2 characters long: got abc.",
        ),
        ({"Type": "Number", "MinValue": 1}, "0", "Parameter P must be at least 1: got 0."),
        ({"Type": "Number", "MaxValue": 10}, "11", "Parameter P must be at most 10: got 11."),
        ({"Type": "Number"}, "many", "Parameter P must be a number: got many."),
        ({"Type": "Number"}, "", 'Parameter P must be a number: got "".'),
        (
            {"Type": "List<Number>"},
            "1,x",
            "Parameter P must be a number: got x.",
        ),
        (
            {"Type": "CommaDelimitedList", "AllowedValues": ["a", "b"]},
            "a,c",
            "Parameter P must be one of a, b: got c.",
        ),
    ],
)
def test_constraint_failures_name_the_parameter(declaration, value, message):
    with pytest.raises(TemplateError) as raised:
        _resolve({"P": declaration}, {"P": value})
    assert str(raised.value) == message


def test_constraint_description_is_part_of_the_message():
    declaration = {
        "Type": "Number",
        "AllowedValues": [0.25, 0.5, 1, 2, 4],
        "ConstraintDescription": "Fargate supports these vCPU sizes.",
    }
    with pytest.raises(TemplateError) as raised:
        _resolve({"JobVcpus": declaration}, {"JobVcpus": "3"})
    assert str(raised.value) == (
        "Parameter JobVcpus must be one of 0.25, 0.5, 1, 2, 4: got 3 "
        "(Fargate supports these vCPU sizes)."
    )


def test_pattern_must_match_the_whole_value():
    declaration = {"Type": "String", "AllowedPattern": "[0-9]+"}
    assert _refs({"P": declaration}, {"P": "123"}) == {"P": "123"}
    with pytest.raises(TemplateError, match="pattern"):
        _resolve({"P": declaration}, {"P": "123abc"})


def test_numbers_compare_as_numbers_in_allowed_values():
    declaration = {"Type": "Number", "AllowedValues": [1, 2]}
    assert _refs({"P": declaration}, {"P": "1.0"}) == {"P": "1.0"}


def test_no_echo_values_are_masked_in_errors_and_listed():
    declaration = {"Type": "String", "NoEcho": True, "MinLength": 8}
    with pytest.raises(TemplateError) as raised:
        _resolve({"Secret": declaration}, {"Secret": "short"})
    assert str(raised.value) == "Parameter Secret must be at least 8 characters long: got ****."
    stack = _resolve({"Secret": declaration}, {"Secret": "long enough"})
    assert stack.no_echo == frozenset({"Secret"})
    assert stack.parameters["Secret"] == "long enough"


def test_unknown_parameter_is_an_error_naming_it():
    with pytest.raises(TemplateError, match=r"^Parameter Typo is not declared in the template"):
        _resolve({"Name": {"Type": "String", "Default": "x"}}, {"Typo": "1"})


def test_missing_parameter_without_default_is_an_error_naming_it():
    with pytest.raises(TemplateError) as raised:
        _resolve({"CodeS3Bucket": {"Type": "String"}})
    assert str(raised.value) == (
        "Parameter CodeS3Bucket has no Default and no value was given: pass CodeS3Bucket=VALUE."
    )


@pytest.mark.parametrize(
    ("declared_type", "message"),
    [
        (
            "AWS::SSM::Parameter::Value<String>",
            "Parameter P has type AWS::SSM::Parameter::Value<String>, which needs Systems Manager",
        ),
        ("Strin", "Parameter P has unknown type Strin"),
        (None, "Parameter P has no Type"),
    ],
)
def test_unusable_types(declared_type, message):
    with pytest.raises(TemplateError, match=re.escape(message)):
        _resolve({"P": {"Type": declared_type, "Default": "x"}})


def test_ssm_parameter_name_is_a_plain_string():
    assert _refs({"P": {"Type": "AWS::SSM::Parameter::Name", "Default": "/a/b"}}) == {"P": "/a/b"}
