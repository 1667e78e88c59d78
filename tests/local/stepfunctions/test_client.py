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
