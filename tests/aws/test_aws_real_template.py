"""infra/template.yaml against the deployer: the parameters the deployer generates pass the
template's constraints, the template goes through the artifact bucket (it is over the
TemplateBody limit), and it deploys into moto (with the gaps of moto's CloudFormation
filled as tests/aws/moto_gaps.py says; any other moto error fails the test)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pipeline.deploy.aws.package import Artifact
from pipeline.deploy.aws.session import AwsSession
from pipeline.deploy.aws.stack import TEMPLATE_BODY_LIMIT, StackDeployer

from .moto_gaps import fill_moto_gaps

TEMPLATE = Path(__file__).resolve().parents[2] / "infra/template.yaml"


class _TaglessLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML, turning short-form intrinsics (!Ref, !Sub...) into None."""


_TaglessLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _parameters() -> dict[str, dict]:
    return yaml.load(TEMPLATE.read_text(), Loader=_TaglessLoader)["Parameters"]


def _generated(aws: AwsSession, bucket: str) -> dict[str, str]:
    code = Artifact("lambda", b"code")
    source = Artifact("source", b"source")
    repository = aws.client("ecr").create_repository(repositoryName="n2n-bootstrap-worker")
    return {
        "CodeS3Bucket": bucket,
        "CodeS3Key": code.key,
        "WorkerImageUri": f"{repository['repository']['repositoryUri']}:{source.digest}",
    }


def test_generated_parameters_meet_the_template_constraints(aws: AwsSession):
    declared = _parameters()
    for key, value in _generated(aws, "n2n-bootstrap-artifactbucket-1a2b3c4d5e6f").items():
        pattern = declared[key].get("AllowedPattern")
        assert pattern is None or re.fullmatch(pattern, value), (key, value, pattern)


def test_the_template_deploys_into_moto_through_the_artifact_bucket(
    aws: AwsSession, monkeypatch: pytest.MonkeyPatch
):
    fill_moto_gaps(monkeypatch)
    assert TEMPLATE.stat().st_size > TEMPLATE_BODY_LIMIT
    aws.client("s3").create_bucket(Bucket="artifacts")
    parameters = _generated(aws, "artifacts")
    outputs = StackDeployer(aws).deploy("n2n", TEMPLATE, parameters, bucket="artifacts")
    keys = aws.client("s3").list_objects_v2(Bucket="artifacts")["Contents"]
    assert [k["Key"].split("/")[0] for k in keys] == ["templates"]
    assert outputs["StateMachineArn"].startswith("arn:aws:states:")
    queues = {q["jobQueueName"]: q for q in aws.client("batch").describe_job_queues()["jobQueues"]}
    assert sorted(queues) == ["n2n-egress", "n2n-process", "n2n-procure"]
