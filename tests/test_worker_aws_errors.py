"""The worker's exit code for AWS errors: what botocore's standard retry policy would
retry (a throttle, a 5xx, a reset or refused connection) exits with the retryable code, so
Batch gives the child another attempt; what fails the same way every time (AccessDenied,
NoSuchBucket) exits final with one line saying what to check."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from pipeline import clients
from pipeline.handlers.prepare import prepare
from pipeline.worker import FAILURE_EXIT_CODE, RETRYABLE_EXIT_CODE
from pipeline.worker.main import main

# One attempt per call: the client's own retries are not what these tests are about.
ONE_ATTEMPT = Config(retries={"mode": "standard", "max_attempts": 1})


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def egress(tmp_path) -> Callable[[str], tuple[int, list[dict]]]:
    """Node 0 of a prepared run, procured and processed on a temporary EFS folder;
    returns a function running its egress step to an EGRESS_URL."""
    efs = tmp_path / "efs"
    prepared = prepare(
        {"execution_name": "wf-1", "input": {"id_count": 4, "ids_per_node": 4}},
        {"EFS_MOUNT": str(efs)},
    )
    base = {"EFS_MOUNT": str(efs), "WORKFLOW_ID": prepared["workflow_id"]}
    for step in ("procure", "process"):
        assert main([step], base, io.StringIO()) == 0

    def run(url: str) -> tuple[int, list[dict]]:
        out = io.StringIO()
        code = main(["egress"], {**base, "EGRESS_URL": url}, out)
        return code, [json.loads(line) for line in out.getvalue().splitlines()]

    return run


@pytest.fixture
def s3_client() -> Iterator[Callable[..., object]]:
    """Route the worker's clients to ``make()``, then back to AWS."""

    def install(make: Callable[[], object]) -> None:
        clients.set_client_factory(lambda service: make())

    yield install
    clients.set_client_factory(None)


def stubbed(code: str, status: int, message: str) -> object:
    """An S3 client whose first PutObject fails with ``code`` (status ``status``)."""
    s3 = boto3.client("s3", config=ONE_ATTEMPT)
    stubber = Stubber(s3)
    stubber.add_client_error("put_object", code, message, http_status_code=status)
    stubber.activate()
    return s3


@pytest.mark.parametrize(
    ("code", "status"),
    [("SlowDown", 503), ("ThrottlingException", 400), ("InternalError", 500)],
)
def test_a_throttle_or_server_error_is_retried_by_batch(egress, s3_client, code, status):
    s3_client(lambda: stubbed(code, status, "Please reduce your request rate."))
    exit_code, lines = egress("s3://egress/")
    assert exit_code == RETRYABLE_EXIT_CODE == 75
    [line] = lines
    assert line["event"] == "n2n.error" and code in line["reason"]


def test_a_refused_connection_is_retried_by_batch(egress, s3_client):
    with socket.socket() as probe:  # a free local port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    s3_client(lambda: boto3.client("s3", endpoint_url=endpoint, config=ONE_ATTEMPT))
    exit_code, [line] = egress("s3://egress/")
    assert exit_code == RETRYABLE_EXIT_CODE
    assert endpoint in line["reason"]


def test_access_denied_is_final_with_one_clear_line(egress, s3_client):
    s3_client(lambda: stubbed("AccessDenied", 403, "Access Denied"))
    exit_code, lines = egress("s3://egress/")
    assert exit_code == FAILURE_EXIT_CODE == 1
    [line] = lines
    assert line["reason"] == (
        "AWS PutObject failed: AccessDenied (Access Denied). "
        "A retry cannot fix this: check the job role and EGRESS_URL."
    )


@mock_aws
def test_a_missing_bucket_is_final(egress):
    exit_code, [line] = egress("s3://no-such-bucket/runs/")
    assert exit_code == FAILURE_EXIT_CODE
    assert "NoSuchBucket" in line["reason"] or "404" in line["reason"]
