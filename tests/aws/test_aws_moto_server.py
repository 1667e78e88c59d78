"""The AWS backend end to end against moto in server mode on 127.0.0.1: ``n2n deploy
--backend aws``, ``n2n run``, ``n2n status``, ``n2n stop`` and ``n2n teardown --backend
aws --purge`` with the real templates, every client reaching the server through
``AWS_ENDPOINT_URL`` as it would reach AWS.

As far as moto goes: the bootstrap and pipeline stacks are created from
infra/bootstrap.yaml and infra/template.yaml (with the gaps of moto's CloudFormation
filled as tests/aws/moto_gaps.py says), the artifacts are uploaded and the worker image is
"built" by moto's CodeBuild. moto's Step Functions records an execution without running
its definition and moto's Batch runs no tasks, so a run stays RUNNING with no jobs: the
test asserts the execution, its input, its stop, and that teardown removes everything the
two stacks made (moto deletes RetainExceptOnCreate resources with their stack, where AWS
keeps them for --purge; the purgers' own removal is tested in test_aws_teardown.py). Any
moto error fails the test.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import boto3
import pytest
from moto.moto_api._internal import moto_api_backend
from moto.server import ThreadedMotoServer

from pipeline.cli.main import main
from pipeline.deploy import DEPLOYERS
from pipeline.deploy.aws.deploy import AwsDeployer
from pipeline.deploy.aws.session import resolve_session

from .moto_gaps import fill_moto_gaps


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto in server mode on a free local port, every AWS client pointed at it."""
    fill_moto_gaps(monkeypatch)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setitem(
        DEPLOYERS, "aws", lambda **options: AwsDeployer(resolve_session(**options), delay=0.1)
    )
    try:
        yield endpoint
    finally:
        server.stop()
        moto_api_backend.reset()


def cli_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    """Run ``n2n ARGV --json``; its last stdout line as JSON."""
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_deploy_run_status_stop_and_purge_against_moto_server(
    moto_server: str, capsys: pytest.CaptureFixture[str]
):
    # deploy: bootstrap stack, artifacts, image, pipeline stack with its own network
    assert main(["deploy", "--backend", "aws"]) == 0
    out = capsys.readouterr().out
    assert "Stack n2n is deployed on aws." in out
    cfn = boto3.client("cloudformation")
    statuses = {s["StackName"]: s["StackStatus"] for s in cfn.describe_stacks()["Stacks"]}
    assert statuses == {"n2n": "CREATE_COMPLETE", "n2n-bootstrap": "CREATE_COMPLETE"}
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName="n2n")["Stacks"][0]["Outputs"]
    }
    artifacts = {
        o["OutputKey"]: o["OutputValue"]
        for o in cfn.describe_stacks(StackName="n2n-bootstrap")["Stacks"][0]["Outputs"]
    }
    keys = [
        o["Key"]
        for o in boto3.client("s3").list_objects_v2(Bucket=artifacts["ArtifactBucketName"])[
            "Contents"
        ]
    ]
    assert {key.split("/")[0] for key in keys} == {"lambda", "source", "templates"}
    builds = boto3.client("codebuild").list_builds_for_project(
        projectName=artifacts["BuildProjectName"]
    )
    assert len(builds["ids"]) == 1
    queues = boto3.client("batch").describe_job_queues()["jobQueues"]
    assert sorted(q["jobQueueName"] for q in queues) == ["n2n-egress", "n2n-process", "n2n-procure"]

    # run: an execution of the stack's state machine with the run input
    started = cli_json(
        ["run", "--backend", "aws", "--ids", "100", "--ids-per-node", "10", "--name", "smoke"],
        capsys,
    )
    arn = started["executionArn"]
    assert arn.startswith(outputs["StateMachineArn"].replace(":stateMachine:", ":execution:"))
    assert (started["status"], started["arraySize"]) == ("RUNNING", 10)
    execution = boto3.client("stepfunctions").describe_execution(executionArn=arn)
    assert json.loads(execution["input"])["id_count"] == 100

    # status: moto runs no state, so no step has jobs yet
    status = cli_json(["status", "--backend", "aws", "--latest"], capsys)
    assert (status["executionArn"], status["status"], status["steps"]) == (arn, "RUNNING", {})

    # stop: the execution is aborted; there are no jobs to cancel
    stopped = cli_json(["stop", "--backend", "aws", "--latest"], capsys)
    assert (stopped["statusBefore"], stopped["executionStopped"]) == ("RUNNING", True)
    assert cli_json(["status", "--backend", "aws", "--latest"], capsys)["status"] == "ABORTED"

    # teardown --purge: both stacks and everything they kept
    assert main(["teardown", "--backend", "aws", "--purge"]) == 0
    out = capsys.readouterr().out
    assert "Removed stack n2n\n" in out and "Removed stack n2n-bootstrap\n" in out
    assert cfn.describe_stacks()["Stacks"] == []
    assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert boto3.client("efs").describe_file_systems()["FileSystems"] == []
    assert boto3.client("ecr").describe_repositories()["repositories"] == []
    groups = boto3.client("logs").describe_log_groups()["logGroups"]
    assert groups == []
