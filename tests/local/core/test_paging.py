"""Paging in every local client: a ``nextToken`` the client did not hand out is the
modeled error its service documents, never a bare ValueError."""

from __future__ import annotations

import pytest

from pipeline.local import local_client

BOGUS = "not-a-token"


@pytest.fixture
def sfn(n2n_home):
    client = local_client("stepfunctions", n2n_home)
    definition = '{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}'
    for name in ("a", "b", "c"):
        client.create_state_machine(
            name=name, definition=definition, roleArn="arn:aws:iam::000000000000:role/r"
        )
    return client


def test_step_functions_pages_three_machines_one_at_a_time(sfn):
    pages = sfn.get_paginator("list_state_machines").paginate(PaginationConfig={"PageSize": 1})
    names = [[m["name"] for m in page["stateMachines"]] for page in pages]
    assert names == [["a"], ["b"], ["c"]]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.list_state_machines(nextToken=BOGUS),
        lambda c: c.list_executions(
            stateMachineArn="arn:aws:states:us-east-1:000000000000:stateMachine:a",
            nextToken=BOGUS,
        ),
    ],
    ids=["list_state_machines", "list_executions"],
)
def test_step_functions_bad_token_is_invalid_token(sfn, call):
    with pytest.raises(sfn.exceptions.InvalidToken) as caught:
        call(sfn)
    assert caught.value.response["Error"]["Code"] == "InvalidToken"


def test_batch_bad_token_is_client_exception(n2n_home):
    batch = local_client("batch", n2n_home)
    with pytest.raises(batch.exceptions.ClientException):
        batch.describe_job_queues(nextToken=BOGUS)


@pytest.mark.parametrize("operation", ["describe_log_groups", "filter_log_events"])
def test_logs_bad_token_is_invalid_parameter(n2n_home, operation):
    logs = local_client("logs", n2n_home)
    logs.create_log_group(logGroupName="/aws/batch/job")
    params = {"logGroupName": "/aws/batch/job"} if operation == "filter_log_events" else {}
    with pytest.raises(logs.exceptions.InvalidParameterException):
        getattr(logs, operation)(nextToken=BOGUS, **params)


def test_a_token_carrying_a_negative_offset_is_refused(sfn):
    from pipeline.local.core.paging import encode_token

    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.list_state_machines(nextToken=encode_token({"offset": -1}))
