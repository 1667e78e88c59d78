"""The SageMaker schedule, offline under moto: the pipeline definition the kit builds (the
report notebook, its parameters, image, kernel, instance and the kit's files), the
EventBridge schedule that starts it, ``--delete``, and the error when the extra is missing.
Skipped, with the reason, where the ``sagemaker`` extra is not installed."""

from __future__ import annotations

import json
import sys

import boto3
import pytest
from moto import mock_aws

from pipeline.reports.schedule import (
    ReportSchedule,
    ScheduleError,
    eventbridge_cron,
    put_schedule,
    report_pipeline,
    sdk,
)
from tests.reports.test_report import cli

REGION = "us-east-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["sagemaker.amazonaws.com", "scheduler.amazonaws.com"]},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def api():
    """The SDK's parts, or a skip saying why (after fake_aws set a region)."""
    try:
        return sdk(REGION)
    except ScheduleError as error:
        pytest.skip(f"the sagemaker extra is not installed here: {error}")


@pytest.fixture
def aws(api):
    """moto's AWS with an execution role: (boto3 session, role ARN)."""
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        role = session.client("iam").create_role(
            RoleName="n2n-report", AssumeRolePolicyDocument=json.dumps(TRUST)
        )["Role"]["Arn"]
        yield session, role


def test_definition_runs_the_report_notebook_with_its_parameters(api, aws):
    session, role = aws
    schedule = ReportSchedule("prod", "cron(0 6 * * ? *)", "ml.t3.medium", last_n=7)
    with report_pipeline(schedule, api, api.Session(boto_session=session), role) as pipeline:
        definition = json.loads(pipeline.definition())
    (step,) = definition["Steps"]
    arguments = step["Arguments"]
    assert step["Type"] == "Training" and arguments["RoleArn"] == role
    assert arguments["HyperParameters"] == {
        "backend": "aws",
        "stack_name": "prod",
        "last_n": "7",
        "since": "",
    }
    image = arguments["AlgorithmSpecification"]["TrainingImage"]
    assert image.startswith(f"885854791233.dkr.ecr.{REGION}.amazonaws.com/sagemaker-distribution")
    environment = arguments["Environment"]
    assert environment["SM_INPUT_NOTEBOOK_NAME"] == "06_report.ipynb"
    assert environment["SM_KERNEL_NAME"] == "python3"
    assert environment["SM_INIT_SCRIPT"] == "n2n-init.sh"
    assert arguments["ResourceConfig"]["InstanceType"] == "ml.t3.medium"
    staged = arguments["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, prefix = staged.removeprefix("s3://").split("/", 1)
    pages = session.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = {o["Key"].removeprefix(prefix + "/") for page in pages for o in page["Contents"]}
    assert {"06_report.ipynb", "n2n-init.sh", "pyproject.toml", "README.md"} <= keys
    assert "pipeline/reports/report.py" in keys
    assert not [key for key in keys if "__pycache__" in key]


def test_put_schedule_creates_or_updates_the_pipeline_and_its_schedule(api, aws):
    session, role = aws
    sagemaker_session = api.Session(boto_session=session)
    schedule = ReportSchedule("prod", "cron(0 6 * * ? *)")
    first = put_schedule(schedule, api, sagemaker_session, role)
    again = put_schedule(ReportSchedule("prod", "30 5 ? * MON-FRI *"), api, sagemaker_session, role)
    assert first == again
    assert first["pipeline_arn"].endswith(":pipeline/prod-report")
    described = session.client("scheduler").get_schedule(Name="prod-report")
    assert described["ScheduleExpression"] == "cron(30 5 ? * MON-FRI *)"
    assert described["State"] == "ENABLED"
    assert described["Target"]["Arn"] == first["pipeline_arn"]
    assert described["Target"]["RoleArn"] == role
    assert "SageMakerPipelineParameters" in described["Target"]  # StartPipelineExecution


def test_n2n_schedule_and_delete(api, aws):
    session, role = aws
    code, stdout, stderr = cli(
        "schedule", "--backend", "aws", "--stack", "prod", "--cron", "cron(0 6 * * ? *)",
        "--instance-type", "ml.m5.large", "--role", role, "--since", "2024-05-01",
    )  # fmt: skip
    assert code == 0, stderr
    assert "SageMaker Pipeline prod-report: arn:aws:sagemaker:" in stdout
    assert "EventBridge schedule cron(0 6 * * ? *) UTC: arn:aws:scheduler:" in stdout
    assert "'last_n': '0', 'since': '2024-05-01'" in stdout
    pipelines = session.client("sagemaker").list_pipelines()["PipelineSummaries"]
    assert [p["PipelineName"] for p in pipelines] == ["prod-report"]
    code, stdout, _ = cli("schedule", "--stack", "prod", "--delete")
    assert code == 0
    assert (
        stdout == "Deleted EventBridge schedule prod-report and SageMaker Pipeline prod-report.\n"
    )
    assert session.client("scheduler").list_schedules()["Schedules"] == []
    assert session.client("sagemaker").list_pipelines()["PipelineSummaries"] == []
    assert cli("schedule", "--stack", "prod", "--delete")[1] == "Nothing to delete.\n"


def test_missing_extra_is_one_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, "sagemaker.mlops.workflow", None)  # import fails
    with pytest.raises(ScheduleError, match=r"install the sagemaker extra \(pip install"):
        sdk(REGION)
    code, _, stderr = cli("schedule", "--cron", "cron(0 6 * * ? *)", "--role", "arn:r")
    assert code == 2
    assert stderr == (
        "n2n: error: n2n schedule needs the SageMaker Python SDK: install the sagemaker "
        "extra (pip install -e '.[sagemaker]').\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "Say when with --cron"),
        (["--cron", "0 6 * * *"], "'0 6 * * *' has 5 fields, not the 6 of a schedule"),
        (["--cron", "cron(0 6 * * ? *)", "--since", "soon"], "--since 'soon' is not an ISO"),
    ],
)
def test_bad_schedules_fail_before_the_sdk_loads(argv, message, monkeypatch):
    monkeypatch.setitem(sys.modules, "sagemaker.mlops.workflow", None)
    code, _, stderr = cli("schedule", *argv)
    assert code == 2
    assert message in stderr and stderr.count("\n") == 1


def test_eventbridge_cron_takes_the_expression_bare_or_wrapped():
    assert eventbridge_cron("cron(0 6 * * ? *)") == "0 6 * * ? *"
    assert eventbridge_cron(" 0  6 * * ? * ") == "0 6 * * ? *"
