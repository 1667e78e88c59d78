"""connect(): the one switch between backends."""

from __future__ import annotations

import pytest

import pipeline
from pipeline.connect import BackendError, connect
from pipeline.local.core.client import LocalClient


def test_aws_gives_boto3_clients_with_adaptive_retries():
    conn = pipeline.connect("aws", region="eu-west-1")
    for name, service in (("sfn", "states"), ("batch", "batch"), ("s3", "s3")):
        client = getattr(conn, name)
        assert client.meta.region_name == "eu-west-1"
        assert client.meta.config.retries["mode"] == "adaptive"
        assert client.meta.service_model.endpoint_prefix == service
    assert conn.sfn is conn.sfn


def test_local_gives_local_clients_under_n2n_home(n2n_home):
    conn = connect("local")
    assert conn.home == n2n_home
    for name in ("cloudformation", "sfn", "batch", "logs", "s3"):
        assert isinstance(getattr(conn, name), LocalClient)
    with pytest.raises(conn.sfn.exceptions.ExecutionDoesNotExist):
        conn.sfn.describe_execution(executionArn="arn:aws:states:us-east-1:0:execution:x:y")
    with pytest.raises(conn.cloudformation.exceptions.ClientError, match="Stack with id n2n"):
        conn.cloudformation.describe_stacks(StackName="n2n")


def test_unknown_backends_and_options_are_one_sentence(tmp_path):
    with pytest.raises(BackendError, match=r"Unknown backend 'gcp': use one of local, aws\."):
        connect("gcp")
    with pytest.raises(BackendError, match="--profile is for the aws backend"):
        connect("local", home=tmp_path, profile="research")
