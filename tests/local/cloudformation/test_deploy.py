"""Deploying the real template locally: updates, teardown, and one-sentence errors for
what the local backend cannot honour, with nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli.main import main as cli
from pipeline.deploy.local import LocalDeployer
from pipeline.errors import StackError
from pipeline.kit_files import infra_folder


def local_resources(home: Path) -> dict[str, list]:
    """What a deploy creates locally: buckets, file systems, functions, Batch resources."""
    deployer = LocalDeployer(home=home)
    conn = deployer.conn
    folders = {kind: sorted(p.name for p in (home / kind).glob("*")) for kind in ("s3", "efs")}
    return {
        **folders,
        "stacks": [s["StackName"] for s in conn.cloudformation.describe_stacks()["Stacks"]],
        "queues": conn.batch.describe_job_queues()["jobQueues"],
        "machines": conn.sfn.list_state_machines()["stateMachines"],
    }


def template_with(tmp_path: Path, old: str, new: str) -> Path:
    body = (infra_folder() / "template.yaml").read_text()
    assert old in body
    path = tmp_path / "template.yaml"
    path.write_text(body.replace(old, new, 1))
    return path


BAD_TEMPLATES = [
    pytest.param(
        "Resources:\n",
        "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n",
        "Resource Queue (AWS::SQS::Queue) is a type the local backend does not know",
        id="unknown-resource-type",
    ),
    pytest.param(
        "Resources:\n",
        "Resources:\n  Imported:\n    Type: AWS::S3::Bucket\n"
        "    Properties:\n      BucketName: !ImportValue shared-bucket\n",
        "Imported",
        id="import-value",
    ),
    pytest.param(
        '"Resource": "arn:aws:states:::batch:submitJob"',
        '"Resource": "arn:aws:states:::sqs:sendMessage"',
        "PipelineStateMachine",
        id="unsupported-integration",
    ),
    pytest.param(
        "Type: container",
        "Type: multinode\n      NodeProperties:\n"
        "        {NumNodes: 2, MainNode: 0, NodeRangeProperties: []}",
        "ProcureJobDefinition",
        id="multi-node-job",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_TEMPLATES)
def test_what_the_local_backend_cannot_honour_fails_in_one_sentence(tmp_path, old, new, message):
    home = tmp_path / "home"
    deployer = LocalDeployer(home=home)
    deployer.template = template_with(tmp_path, old, new)
    with pytest.raises(StackError) as error:
        deployer.deploy("n2n", {})
    text = str(error.value)
    assert message in text
    assert "\n" not in text
    assert local_resources(home) == {
        "s3": [],
        "efs": [],
        "stacks": [],
        "queues": [],
        "machines": [],
    }


def test_a_bad_parameter_names_the_parameter(tmp_path):
    with pytest.raises(StackError, match=r"Parameter JobVcpus must be one of .*: got 3"):
        LocalDeployer(home=tmp_path).deploy("n2n", {"JobVcpus": "3"})


def test_a_second_deploy_updates_the_same_stack(tmp_path, capsys):
    deployer = LocalDeployer(home=tmp_path)
    first = deployer.deploy("n2n", {})
    assert deployer.deploy("n2n", {}) == first
    assert "no changes" in capsys.readouterr().out
    updated = deployer.deploy("n2n", {"RetryAttempts": "2", "ProcureMaxVcpus": "8"})
    assert updated["ProcureJobDefinitionArn"].endswith("n2n-procure:2")
    assert updated["StateMachineArn"] == first["StateMachineArn"]
    stacks = deployer.conn.cloudformation.describe_stacks()["Stacks"]
    assert [s["StackName"] for s in stacks] == ["n2n"]
    assert "LastUpdatedTime" in stacks[0]
    definition = deployer.conn.batch.describe_job_definitions(
        jobDefinitions=[updated["ProcureJobDefinitionArn"]]
    )["jobDefinitions"][0]
    assert definition["retryStrategy"]["attempts"] == 2
    environments = deployer.conn.batch.describe_compute_environments()["computeEnvironments"]
    procure = next(e for e in environments if "Procure" in e["computeEnvironmentName"])
    assert procure["computeResources"]["maxvCpus"] == 8


def test_teardown_keeps_retained_data_unless_purged(tmp_path):
    deployer = LocalDeployer(home=tmp_path)
    outputs = deployer.deploy("kept", {"RetainData": "Retain"})
    bucket = tmp_path / "s3" / outputs["EgressBucketName"]
    assert bucket.is_dir()
    removed = deployer.teardown("kept")
    assert any(item.startswith("AWS::Batch::JobQueue") for item in removed)
    assert bucket.is_dir()
    assert deployer.conn.batch.describe_job_queues()["jobQueues"] == []
    deployer.deploy("purged", {"RetainData": "Retain"})
    deployer.teardown("purged", purge=True)
    assert not any((tmp_path / "s3").glob("purged-*"))


def test_the_cli_reports_a_missing_stack_in_one_line(n2n_home, capsys):
    assert cli(["teardown", "--stack", "nothing-here"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "n2n: error: Stack nothing-here does not exist on the local backend: check --stack."
    )
    assert cli(["status", "--latest", "--stack", "nothing-here"]) == 2
    assert "deploy it first" in capsys.readouterr().err
