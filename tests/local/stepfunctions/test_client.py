"""The local Step Functions client answers the boto3 calls users reach for first, in the
shapes botocore's model documents."""

from __future__ import annotations

import json

import pytest

from pipeline.local import local_client
from tests.shapes import assert_aws_shape

ROLE = "arn:aws:iam::000000000000:role/r"
DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


@pytest.fixture
def sfn(n2n_home):
    return local_client("stepfunctions", n2n_home)


def test_describe_state_machine_returns_what_was_created(sfn):
    arn = sfn.create_state_machine(name="m", definition=json.dumps(DEFINITION), roleArn=ROLE)[
        "stateMachineArn"
    ]
    described = sfn.describe_state_machine(stateMachineArn=arn)
    assert_aws_shape("stepfunctions", "describe_state_machine", described)
    assert (described["name"], described["roleArn"], described["status"]) == ("m", ROLE, "ACTIVE")
    assert json.loads(described["definition"]) == DEFINITION


def test_describe_state_machine_of_an_unknown_arn_is_the_modeled_error(sfn):
    unknown = "arn:aws:states:us-east-1:000000000000:stateMachine:nothing"
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.describe_state_machine(stateMachineArn=unknown)


@pytest.mark.parametrize(
    ("operation", "pageable"),
    [("list_executions", True), ("get_execution_history", True), ("start_execution", False)],
)
def test_can_paginate_follows_the_service_model(sfn, operation, pageable):
    assert sfn.can_paginate(operation) is pageable


@pytest.fixture
def machine(sfn):
    return sfn.create_state_machine(name="m", definition=json.dumps(DEFINITION), roleArn=ROLE)[
        "stateMachineArn"
    ]


@pytest.mark.parametrize("name", ["fail-p0.5", "run.v1.2", "été-2026", "!@=+()'", "a" * 80])
def test_an_execution_name_without_the_documented_characters_is_accepted(sfn, machine, name):
    # API_StartExecution: refused are whitespace, < > { } [ ], ? *, " # % \ ^ | ~ ` $ & , ; : /
    # and control characters; every character of these names is outside that list.
    started = sfn.start_execution(stateMachineArn=machine, name=name)
    assert started["executionArn"].endswith(f":{name}")


@pytest.mark.parametrize(
    "name", ["a b", "a\tb", "a/b", "a:b", "x*", "x?", "[x]", "{x}", "<x>", "a#b", "a\x07", "a" * 81]
)
def test_an_execution_name_with_a_documented_character_is_invalid(sfn, machine, name):
    with pytest.raises(sfn.exceptions.InvalidName):
        sfn.start_execution(stateMachineArn=machine, name=name)
