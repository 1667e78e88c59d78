"""``n2n deploy`` and ``n2n teardown`` through ``pipeline.cli.main``."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pipeline.cli.main import main
from pipeline.deploy import DEPLOYERS
from pipeline.deploy.aws.deploy import AwsDeployer
from pipeline.deploy.aws.session import AwsSession


@pytest.fixture
def aws_cli(monkeypatch: pytest.MonkeyPatch, aws: AwsSession, project: Path) -> AwsSession:
    """Route ``--backend aws`` to a deployer on the moto session and the test project."""
    monkeypatch.setitem(DEPLOYERS, "aws", lambda **options: AwsDeployer(aws, project))
    return aws


def test_deploy_then_teardown_with_purge(
    aws_cli: AwsSession, build_project: str, capsys: pytest.CaptureFixture[str]
):
    assert main(["deploy", "--backend", "aws", "--parameter", "Size=large"]) == 0
    out = capsys.readouterr().out
    assert "Stack n2n is deployed on aws." in out and "Size: large" in out

    assert main(["teardown", "--backend", "aws", "--purge"]) == 0  # stdin is not a TTY
    out = capsys.readouterr().out
    assert "Removed stack n2n\n" in out and "Removed stack n2n-bootstrap\n" in out
    assert "Removed log group /n2n/n2n/steps\n" in out


def test_a_malformed_parameter_is_one_line(capsys: pytest.CaptureFixture[str]):
    assert main(["deploy", "--backend", "aws", "--parameter", "Size large"]) == 2
    assert capsys.readouterr().err == (
        "n2n: error: Parameter 'Size large' is not KEY=VALUE with an alphanumeric KEY: write "
        "it like --parameter MaxVcpus=256.\n"
    )


def test_a_backend_without_deployer_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.delitem(DEPLOYERS, "local", raising=False)
    assert main(["deploy", "--backend", "local"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("n2n: error: No deployer is registered for backend 'local': use one")


def test_an_unknown_backend_is_refused(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as caught:
        main(["deploy", "--backend", "azure"])
    assert caught.value.code == 2
    assert "invalid choice: 'azure'" in capsys.readouterr().err


def test_missing_credentials_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    assert main(["deploy", "--backend", "aws"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("n2n: error: No AWS credentials found: ") and err.count("\n") == 1


def test_teardown_of_a_missing_stack_is_one_line(
    aws_cli: AwsSession, capsys: pytest.CaptureFixture[str]
):
    assert main(["teardown", "--backend", "aws", "--stack", "gone"]) == 2
    assert capsys.readouterr().err == (
        "n2n: error: Stack gone does not exist in us-east-1: check --stack, --region and "
        "--profile.\n"
    )


def test_teardown_asks_on_a_terminal(
    aws_cli: AwsSession, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert main(["teardown", "--backend", "aws", "--purge"]) == 1
    assert "Nothing was deleted." in capsys.readouterr().out
