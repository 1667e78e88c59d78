"""Delete a stack and, with purge, what it retained: buckets (every object version and
delete marker), ECR repositories, EFS file systems (mount targets first) and log groups.

Purging is a registry by CloudFormation resource type: each purger empties its resource
before the stack is deleted (so the stack's own delete of a non-retained one succeeds) and
removes it afterwards if it is still there, i.e. if the stack retained it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from botocore.exceptions import ClientError
from botocore.waiter import WaiterModel, create_waiter_with_client

from pipeline.deploy.aws.session import AwsSession
from pipeline.deploy.aws.stack import StackDeployer
from pipeline.errors import StackError

ECR_BATCH = 100
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

    def empty(self, physical_id: str) -> None:
        """Make the resource deletable (called before the stack is deleted)."""

    def remove(self, physical_id: str) -> str | None:
        """Delete the resource if it still exists; say what was removed, or None."""


class BucketPurger:
    """S3 buckets: delete every object version and delete marker, then the bucket."""

    def __init__(self, aws: AwsSession) -> None:
        self.s3 = aws.client("s3")
        self.deleted: dict[str, int] = {}

    def empty(self, physical_id: str) -> None:
        """Delete every object version and delete marker of the bucket."""
        pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=physical_id)
        try:
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
        """Empty the bucket again (late writes such as access logs), then delete it."""
        self.empty(physical_id)
        try:
            self.s3.delete_bucket(Bucket=physical_id)
        except ClientError as error:
            if _code(error) == "NoSuchBucket":
                return None
            raise
        count = self.deleted.get(physical_id, 0)
        return f"S3 bucket {physical_id} ({count} object versions and delete markers)"


class RepositoryPurger:
    """ECR repositories: delete every image, then the repository."""

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


class FileSystemPurger:
    """EFS file systems: delete the mount targets, wait until they are gone, then the
    file system (its access points go with it)."""

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


class LogGroupPurger:
    """CloudWatch log groups: delete the group and its streams."""

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
    repositories, file systems and log groups it retained. Return what was removed."""
    purgers: dict[str, Purger] = {}
    targets: list[tuple[Purger, str]] = []
    if purge:
        for resource in stacks.resources(name):
            kind, physical_id = resource["ResourceType"], resource.get("PhysicalResourceId")
            if kind in PURGERS and physical_id:
                purger = purgers.setdefault(kind, PURGERS[kind](aws))
                targets.append((purger, physical_id))
    for purger, physical_id in targets:
        purger.empty(physical_id)
    stacks.delete(name)
    removed = [f"stack {name}"]
    for purger, physical_id in targets:
        what = purger.remove(physical_id)
        if what:
            removed.append(what)
    return removed
