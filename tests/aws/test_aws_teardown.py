"""Teardown: delete the stack; with purge, empty and remove what it retained (moto)."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from pipeline.deploy.aws.session import AwsSession
from pipeline.deploy.aws.stack import StackDeployer
from pipeline.deploy.aws.teardown import remove_stack
from pipeline.errors import StackError

RETAINING = """\
Parameters:
  SubnetId: {Type: String}
  SecurityGroupId: {Type: String}
Resources:
  EgressBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties:
      VersioningConfiguration: {Status: Enabled}
  ScratchBucket:
    Type: AWS::S3::Bucket
  FileSystem:
    Type: AWS::EFS::FileSystem
    DeletionPolicy: Retain
    Properties:
      Encrypted: true
  MountTarget:
    Type: AWS::EFS::MountTarget
    DeletionPolicy: Retain
    Properties:
      FileSystemId: !Ref FileSystem
      SubnetId: !Ref SubnetId
      SecurityGroups: [!Ref SecurityGroupId]
  StepLogs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    Properties:
      LogGroupName: /n2n/teardown/steps
Outputs:
  EgressBucketName: {Value: !Ref EgressBucket}
  ScratchBucketName: {Value: !Ref ScratchBucket}
  FileSystemId: {Value: !Ref FileSystem}
"""


@pytest.fixture
def retaining_stack(aws: AwsSession, tmp_path: Path) -> dict[str, str]:
    """A deployed stack that retains a versioned bucket with history, a file system with a
    mount target, and a log group; returns its outputs."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="nfs", Description="nfs", VpcId=vpc)["GroupId"]
    template = tmp_path / "retaining.yaml"
    template.write_text(RETAINING)
    parameters = {"SubnetId": subnet, "SecurityGroupId": group}
    outputs = StackDeployer(aws).deploy("n2n", template, parameters)
    s3 = aws.client("s3")
    # moto's CloudFormation does not apply VersioningConfiguration; set it directly.
    s3.put_bucket_versioning(
        Bucket=outputs["EgressBucketName"], VersioningConfiguration={"Status": "Enabled"}
    )
    for body in (b"one", b"two"):
        s3.put_object(Bucket=outputs["EgressBucketName"], Key="run/results/00000.json", Body=body)
    s3.delete_object(Bucket=outputs["EgressBucketName"], Key="run/results/00000.json")
    s3.put_object(Bucket=outputs["ScratchBucketName"], Key="tmp", Body=b"x")
    return outputs


def _exists(call, *args, **kwargs) -> bool:
    try:
        call(*args, **kwargs)
    except ClientError:
        return False
    return True


def test_without_purge_retained_resources_stay(aws: AwsSession, retaining_stack: dict):
    stacks = StackDeployer(aws)
    assert remove_stack(aws, stacks, "n2n") == ["stack n2n"]
    assert stacks.status("n2n") is None
    assert _exists(aws.client("s3").head_bucket, Bucket=retaining_stack["EgressBucketName"])
    efs = aws.client("efs").describe_file_systems()["FileSystems"]
    assert [fs["FileSystemId"] for fs in efs] == [retaining_stack["FileSystemId"]]


def test_purge_empties_every_version_and_removes_what_was_retained(
    aws: AwsSession, retaining_stack: dict
):
    egress, file_system = retaining_stack["EgressBucketName"], retaining_stack["FileSystemId"]
    versions = aws.client("s3").list_object_versions(Bucket=egress)
    assert len(versions["Versions"]) == 2 and len(versions["DeleteMarkers"]) == 1
    efs = aws.client("efs")
    assert len(efs.describe_mount_targets(FileSystemId=file_system)["MountTargets"]) == 1

    removed = remove_stack(aws, StackDeployer(aws), "n2n", purge=True)

    assert removed == [
        "stack n2n",
        f"S3 bucket {egress} (3 object versions and delete markers)",
        f"EFS file system {file_system} (1 mount targets)",
        "log group /n2n/teardown/steps",
    ]
    assert aws.client("s3").list_buckets()["Buckets"] == []
    assert efs.describe_file_systems()["FileSystems"] == []
    assert aws.client("logs").describe_log_groups()["logGroups"] == []


class DeleteFailsOnFullBuckets:
    """Stacks whose delete behaves as CloudFormation's does with S3 (which moto does not
    model): a bucket with DeletionPolicy Delete that still holds object versions cannot be
    deleted, so the stack ends DELETE_FAILED with that bucket DELETE_FAILED."""

    def __init__(self, s3: object, deleted: list[str], retained: list[str]) -> None:
        self.s3, self.deleted, self.retained = s3, deleted, retained
        self.attempts = 0
        self.status = "CREATE_COMPLETE"

    def _full(self, bucket: str) -> bool:
        listing = self.s3.list_object_versions(Bucket=bucket)
        return bool(listing.get("Versions") or listing.get("DeleteMarkers"))

    def resources(self, name: str) -> list[dict[str, str]]:
        failed = {b for b in self.deleted if self.status == "DELETE_FAILED" and self._full(b)}
        return [
            {
                "ResourceType": "AWS::S3::Bucket",
                "PhysicalResourceId": bucket,
                "ResourceStatus": "DELETE_FAILED" if bucket in failed else "CREATE_COMPLETE",
            }
            for bucket in self.deleted + self.retained
        ]

    def delete(self, name: str) -> None:
        self.attempts += 1
        if any(self._full(bucket) for bucket in self.deleted):
            self.status = "DELETE_FAILED"
            raise StackError(f"Stack {name} ended in DELETE_FAILED: the bucket is not empty.")
        for bucket in self.deleted:
            self.s3.delete_bucket(Bucket=bucket)
        self.status = "DELETE_COMPLETE"


def test_without_purge_a_deleted_bucket_is_emptied_and_the_kept_ones_are_named(
    aws: AwsSession, capsys: pytest.CaptureFixture[str]
):
    s3 = aws.client("s3")
    for bucket in ("scratch", "egress"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        for body in (b"one", b"two"):
            s3.put_object(Bucket=bucket, Key="run/results/00000.json", Body=body)
    stacks = DeleteFailsOnFullBuckets(s3, deleted=["scratch"], retained=["egress"])

    assert remove_stack(aws, stacks, "n2n") == ["stack n2n"]

    assert (stacks.attempts, stacks.status) == (2, "DELETE_COMPLETE")
    assert not _exists(s3.head_bucket, Bucket="scratch")
    assert len(s3.list_object_versions(Bucket="egress")["Versions"]) == 2
    said = capsys.readouterr().err
    assert "Emptying bucket scratch, which the stack deletes" in said
    assert "Kept S3 bucket egress: its DeletionPolicy retains it" in said
    assert "Kept S3 bucket scratch" not in said


def test_without_purge_what_the_stack_retained_is_named(
    aws: AwsSession, retaining_stack: dict, capsys: pytest.CaptureFixture[str]
):
    remove_stack(aws, StackDeployer(aws), "n2n")
    said = capsys.readouterr().err
    assert f"Kept S3 bucket {retaining_stack['EgressBucketName']}: its DeletionPolicy" in said
    assert f"Kept EFS file system {retaining_stack['FileSystemId']}" in said
    assert "Kept log group /n2n/teardown/steps" in said
    assert "aws/efs/automatic-backup-vault" in said
