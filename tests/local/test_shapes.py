"""Every local response has the shape botocore's service model documents: each is fed to
botocore's Stubber, which validates it against the real output shape."""

from __future__ import annotations

import pytest

from tests.shapes import assert_aws_shape


@pytest.fixture(scope="module")
def finished(local_stack):
    """A finished three-node run and a finished one-node run."""
    return local_stack.run(id_count=30, ids_per_node=10), local_stack.run(
        id_count=3, ids_per_node=5
    )


def test_cloudformation_responses(local_stack, finished):
    cfn = local_stack.conn.cloudformation
    assert_aws_shape("cloudformation", "describe_stacks", cfn.describe_stacks(StackName="n2n"))
    assert_aws_shape("cloudformation", "describe_stacks", cfn.describe_stacks())
    events = cfn.describe_stack_events(StackName="n2n")
    assert events["StackEvents"][0]["ResourceStatus"] == "CREATE_COMPLETE"
    assert_aws_shape("cloudformation", "describe_stack_events", events)
    resources = cfn.list_stack_resources(StackName="n2n")
    assert_aws_shape("cloudformation", "list_stack_resources", resources)
    types = {r["ResourceType"] for r in resources["StackResourceSummaries"]}
    assert {"AWS::Batch::JobDefinition", "AWS::StepFunctions::StateMachine"} <= types


def test_stepfunctions_responses(local_stack, finished):
    sfn = local_stack.conn.sfn
    machine = local_stack.outputs["StateMachineArn"]
    arn = finished[0].execution_arn
    assert_aws_shape(
        "stepfunctions", "describe_execution", sfn.describe_execution(executionArn=arn)
    )
    assert_aws_shape(
        "stepfunctions", "list_executions", sfn.list_executions(stateMachineArn=machine)
    )
    history = sfn.get_execution_history(executionArn=arn)
    assert history["events"][0]["type"] == "ExecutionStarted"
    assert history["events"][-1]["type"] == "ExecutionSucceeded"
    assert_aws_shape("stepfunctions", "get_execution_history", history)
    assert_aws_shape("stepfunctions", "list_state_machines", sfn.list_state_machines())
    started = sfn.start_execution(stateMachineArn=machine, input='{"id_count": 2}')
    assert_aws_shape("stepfunctions", "start_execution", started)
    local_stack.wait(started["executionArn"])
    stopped = sfn.stop_execution(executionArn=started["executionArn"])
    assert_aws_shape("stepfunctions", "stop_execution", stopped)


def test_batch_responses(local_stack, finished):
    batch = local_stack.conn.batch
    for state in finished:
        parents = batch.describe_jobs(jobs=list(state.jobs.values()))
        assert_aws_shape("batch", "describe_jobs", parents)
        for job_id in state.jobs.values():
            listed = batch.list_jobs(arrayJobId=job_id, jobStatus="SUCCEEDED")
            assert_aws_shape("batch", "list_jobs", listed)
    children = batch.describe_jobs(jobs=[f"{finished[0].jobs['process']}:{i}" for i in range(3)])
    assert [c["arrayProperties"]["index"] for c in children["jobs"]] == [0, 1, 2]
    assert_aws_shape("batch", "describe_jobs", children)
    for operation in ("describe_job_queues", "describe_compute_environments"):
        assert_aws_shape("batch", operation, getattr(batch, operation)())
    assert_aws_shape("batch", "describe_job_definitions", batch.describe_job_definitions())


def test_logs_responses(local_stack, finished):
    logs = local_stack.conn.logs
    group = local_stack.outputs["JobLogGroupName"]
    streams = logs.describe_log_streams(logGroupName=group)
    assert_aws_shape("logs", "describe_log_streams", streams)
    stream = streams["logStreams"][0]["logStreamName"]
    assert_aws_shape(
        "logs", "get_log_events", logs.get_log_events(logGroupName=group, logStreamName=stream)
    )
    filtered = logs.filter_log_events(logGroupName=group, filterPattern='{ $.event = "n2n.step" }')
    assert filtered["events"]
    assert_aws_shape("logs", "filter_log_events", filtered)


def test_s3_responses(local_stack, finished):
    s3 = local_stack.conn.s3
    bucket = local_stack.bucket
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{finished[0].workflow_id}/")
    assert listed["KeyCount"] == 4
    assert_aws_shape("s3", "list_objects_v2", listed)
    key = listed["Contents"][0]["Key"]
    assert_aws_shape("s3", "head_object", s3.head_object(Bucket=bucket, Key=key))
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read().startswith(b"{")
    assert_aws_shape("s3", "put_object", s3.put_object(Bucket=bucket, Key="x/y.json", Body=b"{}"))
    assert_aws_shape(
        "s3",
        "delete_objects",
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "x/y.json"}]}),
    )


def test_events_responses(local_stack):
    events = local_stack.conn.events
    resources = local_stack.conn.cloudformation.list_stack_resources(StackName="n2n")
    (rule,) = [
        r["PhysicalResourceId"]
        for r in resources["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::Events::Rule"
    ]
    described = events.describe_rule(Name=rule)
    assert (described["ScheduleExpression"], described["State"]) == ("rate(1 day)", "DISABLED")
    assert_aws_shape("events", "describe_rule", described)
    targets = events.list_targets_by_rule(Rule=rule)
    assert [t["Arn"] for t in targets["Targets"]] == [local_stack.outputs["StateMachineArn"]]
    assert_aws_shape("events", "list_targets_by_rule", targets)
