"""The one check that a local response has the shape AWS documents: botocore's Stubber
validates a response against the service model when it is added."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber


def assert_aws_shape(service: str, operation: str, response: dict) -> None:
    """Raise when ``response`` breaks the output shape of ``service.operation``."""
    client = boto3.client(service, region_name="us-east-1")
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    Stubber(client).add_response(operation, body)
