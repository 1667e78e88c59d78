"""Delete a stack and, with purge, what it retained: buckets (every object version and
delete marker), ECR repositories, EFS file systems (mount targets first) and log groups.

Purging is a registry by CloudFormation resource type: each purger empties its resource
before the stack is deleted (so the stack's own delete of a non-retained one succeeds) and
removes it afterwards if it is still there, i.e. if the stack retained it.

Without purge, a bucket the stack deletes (DeletionPolicy Delete) must still be empty,
versions included, or the delete ends DELETE_FAILED: when it does, the buckets it could not
delete are emptied and the delete runs again (CloudFormation names exactly the buckets it
tried to delete, so a retained one is never touched). Server access logs and flow logs are
delivered late, so a bucket emptied once may fill again: the rounds repeat a few times.
What the stack kept is said on stderr, with why and how to remove it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Protocol

from botocore.exceptions import ClientError
from botocore.waiter import WaiterModel, create_waiter_with_client

from pipeline.deploy.aws.session import AwsSession
from pipeline.deploy.aws.stack import StackDeployer
from pipeline.errors import StackError

ECR_BATCH = 100
DELETE_ROUNDS = 3
EFS_BACKUP_VAULT = "aws/efs/automatic-backup-vault"
MOUNT_TARGETS_GONE = WaiterModel(
    {
        "version": 2,
        "waiters": {
            "MountTargetsDeleted": {
                "operation": "DescribeMountTargets",
                "delay": 10,
                "maxAttempts": 90,
                "acceptors": [
                    {
                        "state": "success",
                        "matcher": "path",
                        "argument": "length(MountTargets)",
                        "expected": 0,
                    }
                ],
            }
        },
    }
)


def _code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


class Purger(Protocol):
    """Empties and removes one kind of retained resource, by physical id."""

    kind: str
    """What the resource is called in messages ("S3 bucket")."""

    def empty(self, physical_id: str) -> None:
        """Make the resource deletable (called before the stack is deleted)."""

    def remove(self, physical_id: str) -> str | None:
        """Delete the resource if it still exists; say what was removed, or None."""

    def exists(self, physical_id: str) -> bool:
        """Whether the resource is still there."""


class BucketPurger:
    """S3 buckets: delete every object version and delete marker, then the bucket."""

    kind = "S3 bucket"

    def __init__(self, aws: AwsSession) -> None:
        self.s3 = aws.client("s3")
        self.deleted: dict[str, int] = {}

    def empty(self, physical_id: str) -> None:
        """Stop the bucket's own access logging, then delete every object version and
        delete marker of the bucket."""
        pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=physical_id)
        try:
            self.s3.put_bucket_logging(Bucket=physical_id, BucketLoggingStatus={})
            for page in pages:
                versions = page.get("Versions", []) + page.get("DeleteMarkers", [])
                if not versions:
                    continue
                objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
                response = self.s3.delete_objects(
                    Bucket=physical_id, Delete={"Objects": objects, "Quiet": True}
                )
                if response.get("Errors"):
                    first = response["Errors"][0]
                    raise StackError(
                        f"Could not delete {first['Key']} from bucket {physical_id}: "
                        f"{first['Message'].rstrip('.')}; remove it by hand and run the "
                        "teardown again."
                    )
                self.deleted[physical_id] = self.deleted.get(physical_id, 0) + len(objects)
        except ClientError as error:
            if _code(error) != "NoSuchBucket":
                raise

    def remove(self, physical_id: str) -> str | None:
        """Empty the bucket again (late writes such as access logs), then delete it; a log
        delivered in between makes it empty and try again, a few times."""
        for round_ in range(DELETE_ROUNDS):
            self.empty(physical_id)
            try:
                self.s3.delete_bucket(Bucket=physical_id)
                break
            except ClientError as error:
                if _code(error) == "NoSuchBucket":
                    return None
                if _code(error) != "BucketNotEmpty" or round_ == DELETE_ROUNDS - 1:
                    raise
        count = self.deleted.get(physical_id, 0)
        return f"S3 bucket {physical_id} ({count} object versions and delete markers)"

    def exists(self, physical_id: str) -> bool:
        """Whether the bucket is still there."""
        try:
            self.s3.head_bucket(Bucket=physical_id)
        except ClientError:
            return False
        return True


class RepositoryPurger:
    """ECR repositories: delete every image, then the repository."""

    kind = "ECR repository"

    def __init__(self, aws: AwsSession) -> None:
        self.ecr = aws.client("ecr")

    def empty(self, physical_id: str) -> None:
        """Delete every image of the repository."""
        pages = self.ecr.get_paginator("list_images").paginate(repositoryName=physical_id)
        try:
            images = [image for page in pages for image in page["imageIds"]]
        except ClientError as error:
            if _code(error) == "RepositoryNotFoundException":
                return
            raise
        for start in range(0, len(images), ECR_BATCH):
            self.ecr.batch_delete_image(
                repositoryName=physical_id, imageIds=images[start : start + ECR_BATCH]
            )

    def remove(self, physical_id: str) -> str | None:
        """Delete the repository with whatever images it still holds."""
        try:
            self.ecr.delete_repository(repositoryName=physical_id, force=True)
        except ClientError as error:
            if _code(error) == "RepositoryNotFoundException":
                return None
            raise
        return f"ECR repository {physical_id}"

    def exists(self, physical_id: str) -> bool:
        """Whether the repository is still there."""
        try:
            self.ecr.describe_repositories(repositoryNames=[physical_id])
        except ClientError:
            return False
        return True


class FileSystemPurger:
    """EFS file systems: delete the mount targets, wait until they are gone, then the
    file system (its access points go with it)."""

    kind = "EFS file system"

    def __init__(self, aws: AwsSession, delay: float = 10.0) -> None:
        self.efs = aws.client("efs")
        self.delay = delay

    def empty(self, physical_id: str) -> None:
        """Nothing to do before the stack is deleted: the stack removes its mount targets."""

    def remove(self, physical_id: str) -> str | None:
        """Delete the mount targets, wait for them to go, delete the file system."""
        try:
            targets = self.efs.describe_mount_targets(FileSystemId=physical_id)["MountTargets"]
        except ClientError as error:
            if _code(error) == "FileSystemNotFound":
                return None
            raise
        for target in targets:
            self.efs.delete_mount_target(MountTargetId=target["MountTargetId"])
        waiter = create_waiter_with_client("MountTargetsDeleted", MOUNT_TARGETS_GONE, self.efs)
        waiter.wait(FileSystemId=physical_id, WaiterConfig={"Delay": self.delay})
        self.efs.delete_file_system(FileSystemId=physical_id)
        return f"EFS file system {physical_id} ({len(targets)} mount targets)"

    def exists(self, physical_id: str) -> bool:
        """Whether the file system is still there."""
        try:
            self.efs.describe_file_systems(FileSystemId=physical_id)
        except ClientError:
            return False
        return True


class LogGroupPurger:
    """CloudWatch log groups: delete the group and its streams."""

    kind = "log group"

    def __init__(self, aws: AwsSession) -> None:
        self.logs = aws.client("logs")

    def empty(self, physical_id: str) -> None:
        """Nothing to do before the stack is deleted."""

    def remove(self, physical_id: str) -> str | None:
        """Delete the log group."""
        try:
            self.logs.delete_log_group(logGroupName=physical_id)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise
        return f"log group {physical_id}"

    def exists(self, physical_id: str) -> bool:
        """Whether the log group is still there."""
        groups = self.logs.describe_log_groups(logGroupNamePrefix=physical_id)["logGroups"]
        return any(group["logGroupName"] == physical_id for group in groups)


PURGERS: dict[str, Callable[[AwsSession], Purger]] = {
    "AWS::S3::Bucket": BucketPurger,
    "AWS::ECR::Repository": RepositoryPurger,
    "AWS::EFS::FileSystem": FileSystemPurger,
    "AWS::Logs::LogGroup": LogGroupPurger,
}


def remove_stack(
    aws: AwsSession, stacks: StackDeployer, name: str, purge: bool = False
) -> list[str]:
    """Delete stack ``name`` and wait; with ``purge`` also empty and remove the buckets,
    repositories, file systems and log groups it retained. Return what was removed; say
    on stderr what was kept and why."""
    purgers: dict[str, Purger] = {}
    targets: list[tuple[Purger, str]] = []
    for resource in stacks.resources(name):
        kind, physical_id = resource["ResourceType"], resource.get("PhysicalResourceId")
        if kind in PURGERS and physical_id:
            purger = purgers.setdefault(kind, PURGERS[kind](aws))
            targets.append((purger, physical_id))
    if purge:
        for purger, physical_id in targets:
            purger.empty(physical_id)
    _delete(stacks, name, purgers.get("AWS::S3::Bucket") or BucketPurger(aws))
    removed = [f"stack {name}"]
    for purger, physical_id in targets:
        if purge:
            what = purger.remove(physical_id)
            if what:
                removed.append(what)
        elif purger.exists(physical_id):
            print(
                f"Kept {purger.kind} {physical_id}: "
                f"its DeletionPolicy retains it (RetainData=Retain); `n2n teardown --purge` "
                "deletes it.",
                file=sys.stderr,
            )
    for purger, physical_id in targets:
        if isinstance(purger, FileSystemPurger):
            print(
                f"Kept the automatic backups of EFS file system {physical_id}, if any: they "
                f"live in the AWS Backup vault {EFS_BACKUP_VAULT} under its own retention "
                "(35 days by default); delete them in the AWS Backup console if unwanted.",
                file=sys.stderr,
            )
    return removed


def _delete(stacks: StackDeployer, name: str, buckets: BucketPurger) -> None:
    """Delete the stack; when it ends DELETE_FAILED on buckets that are not empty, empty
    exactly those and delete again (a few rounds, for logs delivered late)."""
    for round_ in range(DELETE_ROUNDS):
        try:
            stacks.delete(name)
            return
        except StackError:
            failed = [
                resource["PhysicalResourceId"]
                for resource in stacks.resources(name)
                if resource["ResourceType"] == "AWS::S3::Bucket"
                and resource["ResourceStatus"] == "DELETE_FAILED"
            ]
            if not failed or round_ == DELETE_ROUNDS - 1:
                raise
        for bucket in failed:
            print(
                f"Emptying bucket {bucket}, which the stack deletes, and deleting again.",
                file=sys.stderr,
            )
            buckets.empty(bucket)
