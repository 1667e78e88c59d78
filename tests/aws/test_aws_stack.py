"""Stacks through change sets: create, update, no-op, large templates (moto); rejected
parameters, failed change sets and rollbacks (botocore Stubber)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from botocore.stub import ANY, Stubber

from pipeline.deploy.aws.session import AwsSession
from pipeline.deploy.aws.stack import TEMPLATE_BODY_LIMIT, StackDeployer
from pipeline.errors import StackError

from .conftest import PIPELINE

PARAMETERS = {"CodeS3Bucket": "b", "CodeS3Key": "lambda/1.zip", "WorkerImageUri": "repo:1"}
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/n2n/0a1b2c3d"
CHANGE_SET_ID = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/n2n-1/4e5f"
CANCELLED = "Resource creation cancelled"
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def template(project: Path) -> Path:
    return project / "infra/template.yaml"


def _change_sets(aws: AwsSession) -> list[dict]:
    return aws.client("cloudformation").list_change_sets(StackName="n2n")["Summaries"]


def test_create_then_update_keeps_previous_parameters(aws: AwsSession, template: Path):
    stacks = StackDeployer(aws)
    outputs = stacks.deploy("n2n", template, {**PARAMETERS, "Size": "large"})
    assert outputs["WorkerImage"] == "repo:1" and outputs["Size"] == "large"
    assert stacks.status("n2n") == "CREATE_COMPLETE"

    template.write_text(PIPELINE.replace("Value: !Ref Size", "Value: !Sub '${Size}-size'"))
    outputs = stacks.deploy("n2n", template, {**PARAMETERS, "WorkerImageUri": "repo:2"})
    assert outputs["WorkerImage"] == "repo:2"
    assert outputs["Size"] == "large-size"
    assert stacks.status("n2n") == "UPDATE_COMPLETE"


def test_no_changes_is_a_no_op_that_leaves_no_change_set(
    aws: AwsSession, template: Path, capsys: pytest.CaptureFixture[str]
):
    stacks = StackDeployer(aws)
    first = stacks.deploy("n2n", template, PARAMETERS)
    executed = len(_change_sets(aws))
    assert stacks.deploy("n2n", template, PARAMETERS) == first
    assert "Stack n2n is up to date: no changes." in capsys.readouterr().out
    assert len(_change_sets(aws)) == executed
    assert stacks.status("n2n") == "CREATE_COMPLETE"


def test_a_template_over_the_body_limit_goes_through_the_artifact_bucket(
    aws: AwsSession, template: Path
):
    aws.client("s3").create_bucket(Bucket="artifacts")
    padding = "# " + "x" * 98 + "\n"
    template.write_text(PIPELINE + padding * (TEMPLATE_BODY_LIMIT // len(padding) + 1))
    outputs = StackDeployer(aws).deploy("n2n", template, PARAMETERS, bucket="artifacts")
    assert outputs["CodeKey"] == "lambda/1.zip"
    keys = aws.client("s3").list_objects_v2(Bucket="artifacts")["Contents"]
    assert [k["Key"].split("/")[0] for k in keys] == ["templates"]


def test_a_large_template_without_a_bucket_says_so(aws: AwsSession, template: Path):
    template.write_text(PIPELINE + "#" * TEMPLATE_BODY_LIMIT)
    with pytest.raises(StackError, match="over 51,200 bytes and needs an artifact bucket"):
        StackDeployer(aws).deploy("n2n", template, PARAMETERS)


def test_a_stack_left_from_a_failed_create_is_replaced(aws: AwsSession, template: Path):
    cfn = aws.client("cloudformation")
    cfn.create_change_set(
        StackName="n2n", ChangeSetName="stale", ChangeSetType="CREATE", TemplateBody=PIPELINE
    )
    stacks = StackDeployer(aws)
    assert stacks.status("n2n") == "REVIEW_IN_PROGRESS"
    stacks.deploy("n2n", template, PARAMETERS)
    assert stacks.status("n2n") == "CREATE_COMPLETE"


def test_missing_template(aws: AwsSession, tmp_path: Path):
    with pytest.raises(StackError, match=r"template.yaml is missing: run the deploy"):
        StackDeployer(aws).deploy("n2n", tmp_path / "infra/template.yaml", PARAMETERS)


def _stubbed(aws: AwsSession) -> Stubber:
    stubber = Stubber(aws.client("cloudformation"))
    stubber.add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id n2n does not exist",
        expected_params={"StackName": "n2n"},
    )
    return stubber


def test_a_parameter_the_template_rejects_is_one_sentence(aws: AwsSession, template: Path):
    stubber = _stubbed(aws)
    stubber.add_client_error(
        "create_change_set",
        "ValidationError",
        "Parameter 'Size' must be one of AllowedValues",
    )
    with stubber, pytest.raises(StackError) as caught:
        StackDeployer(aws).deploy("n2n", template, {**PARAMETERS, "Size": "huge"})
    assert str(caught.value) == (
        "CloudFormation rejected stack n2n: Parameter 'Size' must be one of AllowedValues."
    )
    stubber.assert_no_pending_responses()


def test_a_failed_change_set_is_deleted_with_its_empty_stack(aws: AwsSession, template: Path):
    stubber = _stubbed(aws)
    stubber.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    failed = {"Status": "FAILED", "StatusReason": "Template format error: bad resource"}
    stubber.add_response("describe_change_set", failed)  # the waiter
    stubber.add_response("describe_change_set", failed)  # the reason
    stubber.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    stubber.add_response("delete_stack", {}, {"StackName": STACK_ID})
    with stubber, pytest.raises(StackError, match="change set for stack n2n failed: Template"):
        StackDeployer(aws).deploy("n2n", template, PARAMETERS)
    stubber.assert_no_pending_responses()


def _event(event_id: str, logical: str, kind: str, status: str, reason: str = "") -> dict:
    physical = STACK_ID if kind == "AWS::CloudFormation::Stack" else f"{logical}-physical"
    event = {
        "StackId": STACK_ID,
        "EventId": event_id,
        "StackName": "n2n",
        "LogicalResourceId": logical,
        "PhysicalResourceId": physical,
        "ResourceType": kind,
        "Timestamp": NOW,
        "ResourceStatus": status,
    }
    return {**event, "ResourceStatusReason": reason} if reason else event


def test_a_rollback_names_the_first_failed_resource(
    aws: AwsSession, template: Path, capsys: pytest.CaptureFixture[str]
):
    stack = "AWS::CloudFormation::Stack"
    review = _event("e0", "n2n", stack, "REVIEW_IN_PROGRESS")
    history = [
        _event("e6", "n2n", stack, "ROLLBACK_COMPLETE"),
        _event("e5", "Queue", "AWS::Batch::JobQueue", "CREATE_FAILED", CANCELLED),
        _event("e4", "Bucket", "AWS::S3::Bucket", "CREATE_FAILED", "Bucket name already exists."),
        _event("e3", "Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS"),
        _event("e2", "Logs", "AWS::Logs::LogGroup", "CREATE_COMPLETE"),
        _event("e1", "n2n", stack, "CREATE_IN_PROGRESS", "User Initiated"),
        review,
    ]
    rolled_back = {
        "StackName": "n2n",
        "StackId": STACK_ID,
        "CreationTime": NOW,
        "StackStatus": "ROLLBACK_COMPLETE",
        "StackStatusReason": "The following resource(s) failed to create: [Bucket].",
    }
    change = {"Type": "Resource", "ResourceChange": {"Action": "Add", "LogicalResourceId": "B"}}
    stubber = _stubbed(aws)
    stubber.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    stubber.add_response("describe_change_set", {"Status": "CREATE_COMPLETE"})
    stubber.add_response("describe_change_set", {"Changes": [change] * 3})
    stubber.add_response("describe_stack_events", {"StackEvents": [review]})
    stubber.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    stubber.add_response("describe_stacks", {"Stacks": [rolled_back]}, {"StackName": STACK_ID})
    stubber.add_response("describe_stack_events", {"StackEvents": history}, {"StackName": ANY})
    stubber.add_response("describe_stacks", {"Stacks": [rolled_back]}, {"StackName": STACK_ID})
    with stubber, pytest.raises(StackError) as caught:
        StackDeployer(aws).deploy("n2n", template, PARAMETERS)
    assert str(caught.value) == (
        "Stack n2n ended in ROLLBACK_COMPLETE: Bucket (AWS::S3::Bucket) CREATE_FAILED: "
        "Bucket name already exists."
    )
    streamed = capsys.readouterr().err
    assert "CREATE_FAILED" in streamed and "Bucket name already exists." in streamed
    assert "REVIEW_IN_PROGRESS" not in streamed
    stubber.assert_no_pending_responses()


def test_delete_of_a_missing_stack_says_what_to_check(aws: AwsSession):
    with pytest.raises(StackError) as caught:
        StackDeployer(aws).delete("nope")
    assert str(caught.value) == (
        "Stack nope does not exist in us-east-1: check --stack, --region and --profile."
    )


def test_a_change_set_without_changes_is_deleted_and_reported(
    aws: AwsSession, template: Path, capsys: pytest.CaptureFixture[str]
):
    deployed = {
        "StackName": "n2n",
        "StackId": STACK_ID,
        "CreationTime": NOW,
        "StackStatus": "UPDATE_COMPLETE",
        "Parameters": [{"ParameterKey": "Size", "ParameterValue": "large"}],
        "Outputs": [{"OutputKey": "Size", "OutputValue": "large"}],
    }
    no_changes = {
        "Status": "FAILED",
        "StatusReason": "The submitted information didn't contain changes. Submit different "
        "information to create a change set.",
    }
    stubber = Stubber(aws.client("cloudformation"))
    stubber.add_response("describe_stacks", {"Stacks": [deployed]})
    stubber.add_response(
        "get_template_summary", {"Parameters": [{"ParameterKey": "Size"}, {"ParameterKey": "X"}]}
    )
    kept = [{"ParameterKey": "Size", "UsePreviousValue": True}]
    given = [{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()]
    stubber.add_response(
        "create_change_set",
        {"Id": CHANGE_SET_ID, "StackId": STACK_ID},
        {
            "StackName": "n2n",
            "ChangeSetName": ANY,
            "ChangeSetType": "UPDATE",
            "Parameters": given + kept,
            "Capabilities": ANY,
            "TemplateBody": PIPELINE,
        },
    )
    stubber.add_response("describe_change_set", no_changes)
    stubber.add_response("describe_change_set", no_changes)
    stubber.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    stubber.add_response("describe_stacks", {"Stacks": [deployed]})
    with stubber:
        assert StackDeployer(aws).deploy("n2n", template, PARAMETERS) == {"Size": "large"}
    assert "Stack n2n is up to date: no changes." in capsys.readouterr().out
    stubber.assert_no_pending_responses()
