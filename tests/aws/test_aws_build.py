"""The worker image: no build when ECR has the tag; CodeBuild otherwise; the log tail on
failure (moto for ECR and a successful build, Stubber for the failed build and its log)."""

from __future__ import annotations

import json

import pytest
from botocore.stub import Stubber

from pipeline.deploy.aws.build import ImageBuilder
from pipeline.deploy.aws.errors import BuildError
from pipeline.deploy.aws.session import AwsSession

TAG = "ab" * 32
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": "sha256:" + "0" * 64, "size": 1},
        "layers": [],
    }
)


@pytest.fixture
def repository_uri(aws: AwsSession) -> str:
    return aws.client("ecr").create_repository(repositoryName="n2n-worker")["repository"][
        "repositoryUri"
    ]


def test_an_existing_tag_is_not_rebuilt(aws: AwsSession, repository_uri: str):
    aws.client("ecr").put_image(repositoryName="n2n-worker", imageManifest=MANIFEST, imageTag=TAG)
    builder = ImageBuilder(aws, "no-such-project", repository_uri)
    with Stubber(aws.client("codebuild")) as codebuild:  # any CodeBuild call would fail
        assert builder.ensure_image("bucket", "source/x.zip", TAG) == f"{repository_uri}:{TAG}"
        codebuild.assert_no_pending_responses()


def test_a_missing_tag_is_built(aws: AwsSession, repository_uri: str, build_project: str):
    builder = ImageBuilder(aws, build_project, repository_uri)
    assert builder.ensure_image("bucket", "source/x.zip", TAG) == f"{repository_uri}:{TAG}"
    builds = aws.client("codebuild").list_builds_for_project(projectName=build_project)["ids"]
    assert len(builds) == 1


def _build(status: str, phase: str) -> dict:
    return {
        "id": "n2n-worker-image:1",
        "buildStatus": status,
        "currentPhase": phase,
        "logs": {"groupName": "/aws/codebuild/n2n-worker-image", "streamName": "1"},
    }


def test_a_failed_build_prints_the_log_tail(
    aws: AwsSession, repository_uri: str, capsys: pytest.CaptureFixture[str]
):
    codebuild = Stubber(aws.client("codebuild"))
    codebuild.add_response(
        "start_build",
        {"build": _build("IN_PROGRESS", "SUBMITTED")},
        {
            "projectName": "n2n-worker-image",
            "sourceTypeOverride": "S3",
            "sourceLocationOverride": "bucket/source/x.zip",
            "environmentVariablesOverride": [
                {"name": "IMAGE_TAG", "value": TAG, "type": "PLAINTEXT"},
                {"name": "REPOSITORY_URI", "value": repository_uri, "type": "PLAINTEXT"},
            ],
        },
    )
    failed = {"builds": [_build("FAILED", "COMPLETED")]}
    codebuild.add_response("batch_get_builds", failed)  # the waiter
    codebuild.add_response("batch_get_builds", failed)  # the last progress poll
    logs = Stubber(aws.client("logs"))
    lines = ["Step 3/7 : RUN pip install .", "ERROR: No matching distribution found"]
    logs.add_response(
        "get_log_events",
        {"events": [{"timestamp": 1, "message": f"{line}\n"} for line in lines]},
        {
            "logGroupName": "/aws/codebuild/n2n-worker-image",
            "logStreamName": "1",
            "limit": 40,
            "startFromHead": False,
        },
    )
    builder = ImageBuilder(aws, "n2n-worker-image", repository_uri)
    with codebuild, logs, pytest.raises(BuildError) as caught:
        builder.ensure_image("bucket", "source/x.zip", TAG)
    assert str(caught.value) == (
        "CodeBuild build n2n-worker-image:1 ended FAILED: fix the cause shown in the log "
        "above and deploy again."
    )
    err = capsys.readouterr().err
    assert "Last lines of the build log /aws/codebuild/n2n-worker-image:" in err
    assert "  ERROR: No matching distribution found" in err
    codebuild.assert_no_pending_responses()
    logs.assert_no_pending_responses()


def test_a_build_that_outlasts_the_waiter_says_so(aws: AwsSession, repository_uri: str):
    codebuild = Stubber(aws.client("codebuild"))
    codebuild.add_response("start_build", {"build": _build("IN_PROGRESS", "SUBMITTED")})
    running = {"builds": [_build("IN_PROGRESS", "BUILD")]}
    builder = ImageBuilder(aws, "n2n-worker-image", repository_uri, delay=3 * 3600)
    codebuild.add_response("batch_get_builds", running)  # the single waiter attempt
    codebuild.add_response("batch_get_builds", running)  # the last progress poll
    with codebuild, pytest.raises(BuildError, match="is still running after 3 hours"):
        builder.ensure_image("bucket", "source/x.zip", TAG)
