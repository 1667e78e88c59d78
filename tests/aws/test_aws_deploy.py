"""The aws deployer end to end in moto: bootstrap → artifacts → image → pipeline stack,
then a second deploy that uploads and builds nothing, then a purging teardown."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.stub import Stubber

from pipeline.deploy.aws.deploy import AwsDeployer
from pipeline.deploy.aws.package import container_source, lambda_code
from pipeline.deploy.aws.session import AwsSession
from pipeline.deploy.aws.stack import StackDeployer
from pipeline.errors import StackError

from .conftest import BOOTSTRAP


def _objects(aws: AwsSession, bucket: str) -> list[str]:
    listing = aws.client("s3").list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_deploy_bootstraps_uploads_builds_and_returns_outputs(
    aws: AwsSession, project: Path, build_project: str
):
    outputs = AwsDeployer(aws, project).deploy("n2n", {"Size": "large"})

    bootstrap = StackDeployer(aws).outputs("n2n-bootstrap")
    bucket, repository = bootstrap["ArtifactBucketName"], bootstrap["RepositoryUri"]
    code, source = lambda_code(project), container_source(project)
    assert _objects(aws, bucket) == sorted([code.key, source.key])
    assert outputs["CodeKey"] == code.key
    assert outputs["WorkerImage"] == f"{repository}:{source.digest}"
    assert outputs["Size"] == "large"
    builds = aws.client("codebuild").list_builds_for_project(projectName=build_project)
    assert len(builds["ids"]) == 1


def test_a_second_deploy_builds_nothing_and_changes_nothing(
    aws: AwsSession, project: Path, build_project: str, capsys: pytest.CaptureFixture[str]
):
    deployer = AwsDeployer(aws, project)
    first = deployer.deploy("n2n", {})
    repository = StackDeployer(aws).outputs("n2n-bootstrap")["RepositoryUri"].split("/", 1)[1]
    aws.client("ecr").put_image(
        repositoryName=repository,
        imageManifest='{"schemaVersion": 2, "mediaType": '
        '"application/vnd.docker.distribution.manifest.v2+json"}',
        imageTag=container_source(project).digest,
    )
    with Stubber(aws.client("codebuild")) as codebuild:  # a build would fail here
        assert deployer.deploy("n2n", {}) == first
        codebuild.assert_no_pending_responses()
    assert "Stack n2n is up to date: no changes." in capsys.readouterr().out


def test_bootstrap_outputs_are_checked(aws: AwsSession, project: Path):
    (project / "infra/bootstrap.yaml").write_text(
        BOOTSTRAP.replace("  BuildProjectName:\n    Value: n2n-worker-image\n", "")
    )
    with pytest.raises(StackError) as caught:
        AwsDeployer(aws, project).deploy("n2n", {})
    assert str(caught.value) == (
        "Stack n2n-bootstrap has no output BuildProjectName: infra/bootstrap.yaml must declare it."
    )


def test_teardown_with_purge_removes_both_stacks_and_their_data(
    aws: AwsSession, project: Path, build_project: str
):
    deployer = AwsDeployer(aws, project)
    outputs = deployer.deploy("n2n", {})
    bucket = StackDeployer(aws).outputs("n2n-bootstrap")["ArtifactBucketName"]

    removed = deployer.teardown("n2n", purge=True)

    assert removed[0] == "stack n2n"
    assert f"S3 bucket {outputs['EgressBucketName']} (0 object versions and delete markers)" in (
        removed
    )
    assert "stack n2n-bootstrap" in removed
    assert not any(bucket in line for line in removed)  # emptied, then deleted by its stack
    assert aws.client("s3").list_buckets()["Buckets"] == []
    assert aws.client("ecr").describe_repositories()["repositories"] == []


def test_teardown_of_a_missing_stack(aws: AwsSession, project: Path):
    with pytest.raises(StackError, match="Stack n2n does not exist in us-east-1: check"):
        AwsDeployer(aws, project).teardown("n2n", purge=True)
