"""SageMaker Studio detection from its resource-metadata file (a temporary one here)."""

from __future__ import annotations

import json

import pytest

from pipeline.reports import studio
from pipeline.reports.studio import StudioError, execution_role, studio_app

ARN = "arn:aws:sagemaker:eu-west-1:123456789012:app/d-abc123/alice/JupyterLab/default"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"


@pytest.fixture
def metadata(tmp_path, monkeypatch):
    """Where Studio would write its resource metadata, pointed at a temp file."""
    path = tmp_path / "resource-metadata.json"
    monkeypatch.setattr(studio, "METADATA_PATH", path)
    return path


def test_outside_studio_there_is_no_app(metadata):
    assert studio_app() is None


def test_studio_gives_region_and_execution_role(metadata):
    metadata.write_text(
        json.dumps(
            {
                "AppType": "JupyterLab",
                "DomainId": "d-abc123",
                "UserProfileName": "alice",
                "SpaceName": "default",
                "ResourceArn": ARN,
                "ResourceName": "default",
                "ExecutionRoleArn": ROLE,
            }
        )
    )
    app = studio_app()
    assert (app.region, app.domain_id, app.user_profile_name, app.space_name) == (
        "eu-west-1",
        "d-abc123",
        "alice",
        "default",
    )
    assert execution_role(app) == ROLE


def test_unreadable_metadata_is_one_sentence(metadata):
    metadata.write_text("{not json")
    with pytest.raises(StudioError, match="is not Studio's resource metadata"):
        studio_app()


def test_studio_region_is_the_schedules_default(metadata, monkeypatch):
    from tests.reports.test_report import cli

    metadata.write_text(json.dumps({"ResourceArn": ARN}))
    seen = {}
    monkeypatch.setattr(
        "pipeline.cli.schedule.delete_schedule",
        lambda stack, session: seen.setdefault("region", session.region_name) and [],
    )
    assert cli("schedule", "--delete")[0] == 0
    assert seen["region"] == "eu-west-1"
