"""Credentials, region and profile come from the standard chain; errors say what to set."""

from __future__ import annotations

import pytest

from pipeline.clients import RETRIES
from pipeline.deploy.aws.errors import CredentialsError
from pipeline.deploy.aws.session import resolve_session


def test_no_credentials_is_one_sentence_saying_what_to_set(monkeypatch: pytest.MonkeyPatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    with pytest.raises(CredentialsError) as caught:
        resolve_session()
    message = str(caught.value)
    assert message.startswith("No AWS credentials found: ")
    assert "AWS_PROFILE" in message and "aws configure" in message
    assert message.count(".") == 1 and message.endswith(".")


def test_no_region(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(CredentialsError, match="No AWS region set: pass --region"):
        resolve_session()


def test_unknown_profile():
    with pytest.raises(CredentialsError, match="AWS profile 'research' is not configured"):
        resolve_session(profile="research")


def test_profile_from_the_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path):
    config = tmp_path / "config"
    config.write_text(
        "[profile research]\nregion = eu-west-1\n"
        "aws_access_key_id = profile-key\naws_secret_access_key = profile-secret\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    session = resolve_session(profile="research")
    assert session.region == "eu-west-1"
    assert session.session.get_credentials().access_key == "profile-key"


def test_region_argument_wins_and_clients_are_shared_with_adaptive_retries():
    session = resolve_session(region="eu-central-1")
    s3 = session.client("s3")
    assert session.region == "eu-central-1"
    assert session.client("s3") is s3
    assert s3.meta.config.retries == RETRIES
    assert s3.meta.config.retries["mode"] == "adaptive"
