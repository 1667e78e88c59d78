"""The worker image: built by the bootstrap stack's CodeBuild project, only when missing.

The image tag is the content hash of the container source zip, so ECR already holding
the tag means the image is current. CodeBuild has no boto3 waiter; :data:`BUILD_WAITER`
is one, declared the way botocore declares its own.
"""

from __future__ import annotations

import sys
from typing import Any

from botocore.exceptions import ClientError, WaiterError
from botocore.waiter import WaiterModel, create_waiter_with_client
from tqdm import tqdm

from pipeline.deploy.aws.errors import BuildError
from pipeline.deploy.aws.progress import polling
from pipeline.deploy.aws.session import AwsSession

PHASES = (
    "SUBMITTED",
    "QUEUED",
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
    "COMPLETED",
)
LOG_TAIL_LINES = 40
MAX_BUILD_S = 3 * 3600
BUILD_WAITER = WaiterModel(
    {
        "version": 2,
        "waiters": {
            "BuildComplete": {
                "operation": "BatchGetBuilds",
                "delay": 15,
                "maxAttempts": 720,
                "acceptors": [
                    {
                        "state": "success",
                        "matcher": "path",
                        "argument": "builds[0].buildStatus",
                        "expected": "SUCCEEDED",
                    },
                    *(
                        {
                            "state": "failure",
                            "matcher": "path",
                            "argument": "builds[0].buildStatus",
                            "expected": status,
                        }
                        for status in ("FAILED", "FAULT", "STOPPED", "TIMED_OUT")
                    ),
                ],
            }
        },
    }
)


class ImageBuilder:
    """Gets ``{repository_uri}:{tag}`` into ECR with one CodeBuild project."""

    def __init__(
        self, aws: AwsSession, project: str, repository_uri: str, delay: float = 15.0
    ) -> None:
        self.ecr = aws.client("ecr")
        self.codebuild = aws.client("codebuild")
        self.logs = aws.client("logs")
        self.project = project
        self.repository_uri = repository_uri
        self.delay = delay

    @property
    def repository(self) -> str:
        """The ECR repository name (the URI after the registry host)."""
        return self.repository_uri.split("/", 1)[1]

    def image_exists(self, tag: str) -> bool:
        """Whether the repository holds an image tagged ``tag``."""
        try:
            self.ecr.describe_images(repositoryName=self.repository, imageIds=[{"imageTag": tag}])
        except ClientError as error:
            if error.response["Error"]["Code"] == "ImageNotFoundException":
                return False
            raise
        return True

    def ensure_image(self, bucket: str, key: str, tag: str) -> str:
        """The image URI for ``tag``, building it from ``s3://bucket/key`` when ECR lacks it."""
        uri = f"{self.repository_uri}:{tag}"
        if self.image_exists(tag):
            print(f"Worker image {uri} is already built.", file=sys.stderr)
            return uri
        build = self.codebuild.start_build(
            projectName=self.project,
            sourceTypeOverride="S3",
            sourceLocationOverride=f"{bucket}/{key}",
            environmentVariablesOverride=[
                {"name": "IMAGE_TAG", "value": tag, "type": "PLAINTEXT"},
                {"name": "REPOSITORY_URI", "value": self.repository_uri, "type": "PLAINTEXT"},
            ],
        )["build"]
        finished = self._wait(build["id"])
        if finished["buildStatus"] != "SUCCEEDED":
            self._print_log_tail(finished)
            raise BuildError(
                f"CodeBuild build {finished['id']} ended {finished['buildStatus']}: fix the "
                "cause shown in the log above and deploy again."
            )
        return uri

    def _wait(self, build_id: str) -> dict[str, Any]:
        bar = tqdm(total=len(PHASES), desc="worker image", unit="phase", disable=None)
        last: dict[str, Any] = {}

        def show() -> None:
            last.update(self.codebuild.batch_get_builds(ids=[build_id])["builds"][0])
            phase = last.get("currentPhase", "SUBMITTED")
            if phase in PHASES:
                bar.update(max(0, PHASES.index(phase) + 1 - bar.n))
            bar.set_postfix_str(phase)

        waiter = create_waiter_with_client("BuildComplete", BUILD_WAITER, self.codebuild)
        config = {"Delay": self.delay, "MaxAttempts": int(MAX_BUILD_S // max(self.delay, 1))}
        try:
            with bar, polling(show, self.delay):
                waiter.wait(ids=[build_id], WaiterConfig=config)
        except WaiterError as error:
            if last.get("buildStatus") == "IN_PROGRESS":
                raise BuildError(
                    f"CodeBuild build {build_id} is still running after {MAX_BUILD_S // 3600} "
                    "hours: look at it in the CodeBuild console, then deploy again."
                ) from error
        return last

    def _print_log_tail(self, build: dict[str, Any]) -> None:
        logs = build.get("logs", {})
        if not logs.get("groupName") or not logs.get("streamName"):
            return
        events = self.logs.get_log_events(
            logGroupName=logs["groupName"],
            logStreamName=logs["streamName"],
            limit=LOG_TAIL_LINES,
            startFromHead=False,
        )["events"]
        print(f"Last lines of the build log {logs['groupName']}:", file=sys.stderr)
        for event in events:
            print(f"  {event['message'].rstrip()}", file=sys.stderr)
