"""Fixtures of the AWS deploy tests: fake credentials, moto, and a small project tree.

Nothing here reaches the network: the credentials are fake, the instance metadata
service is off, and every client is created inside ``mock_aws`` or wrapped in a Stubber.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from pipeline.deploy.aws.session import AwsSession, resolve_session

from .moto_gaps import keep_change_set_outputs

REGION = "us-east-1"
BUILD_PROJECT = "n2n-worker-image"

BOOTSTRAP = """\
Resources:
  ArtifactBucket:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration: {Status: Enabled}
  Repository:
    Type: AWS::ECR::Repository
    Properties:
      RepositoryName: !Sub "${AWS::StackName}-worker"
Outputs:
  ArtifactBucketName:
    Value: !Ref ArtifactBucket
  RepositoryUri:
    Value: !GetAtt Repository.RepositoryUri
  BuildProjectName:
    Value: n2n-worker-image
"""

PIPELINE = """\
Parameters:
  CodeS3Bucket: {Type: String}
  CodeS3Key: {Type: String}
  WorkerImageUri: {Type: String}
  Size:
    Type: String
    Default: small
    AllowedValues: [small, large]
Resources:
  EgressBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties:
      VersioningConfiguration: {Status: Enabled}
  StepLogs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Retain
    Properties:
      LogGroupName: !Sub "/n2n/${AWS::StackName}/steps"
Outputs:
  EgressBucketName:
    Value: !Ref EgressBucket
  WorkerImage:
    Value: !Ref WorkerImageUri
  CodeKey:
    Value: !Ref CodeS3Key
  Size:
    Value: !Ref Size
"""

CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region; no config files, no instance metadata."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsSession]:
    """A session whose clients talk to moto."""
    keep_change_set_outputs(monkeypatch)
    with mock_aws():
        yield resolve_session()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project tree with the files the deployer packages and small templates."""
    root = tmp_path / "project"
    files = {
        "pyproject.toml": "[project]\nname = 'demo'\n",
        "pipeline/__init__.py": "",
        "pipeline/handlers/prepare.py": "def handler(event, context):\n    return {}\n",
        "pipeline/__pycache__/prepare.cpython-311.pyc": "cache",
        "pipeline/tests/test_x.py": "",
        "containers/worker/Dockerfile": "FROM python:3.12-slim\n",
        "containers/buildspec.yml": "version: 0.2\n",
        "infra/bootstrap.yaml": BOOTSTRAP,
        "infra/template.yaml": PIPELINE,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def build_project(aws: AwsSession) -> str:
    """The CodeBuild project the bootstrap template names (moto lacks it in CloudFormation)."""
    aws.client("codebuild").create_project(
        name=BUILD_PROJECT,
        source={"type": "S3", "location": "bucket/source.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=f"arn:aws:iam::123456789012:role/{BUILD_PROJECT}",
    )
    return BUILD_PROJECT
