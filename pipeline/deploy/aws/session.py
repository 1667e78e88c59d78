"""One boto3 session per deploy: credentials and region from the standard AWS chain.

The chain covers ``--profile`` / ``AWS_PROFILE``, the ``AWS_*`` environment variables, the
shared config files, and container or instance roles — the SageMaker execution role
reaches a notebook through the container credential provider. Every client comes from
the same session with the adaptive retries of :data:`pipeline.clients.RETRIES`.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ProfileNotFound

from pipeline.clients import aws_client
from pipeline.deploy.aws.errors import CredentialsError


class AwsSession:
    """A boto3 session and its clients, each client created once."""

    def __init__(self, session: boto3.session.Session) -> None:
        self.session = session
        self._clients: dict[str, Any] = {}

    @property
    def region(self) -> str:
        """The region every client of this session talks to."""
        return self.session.region_name

    def client(self, service: str) -> Any:
        """The boto3 client of ``service`` (adaptive retries)."""
        if service not in self._clients:
            self._clients[service] = aws_client(service, self.session)
        return self._clients[service]


def resolve_session(region: str | None = None, profile: str | None = None) -> AwsSession:
    """A session with credentials and a region, or a :class:`CredentialsError` saying what
    to set."""
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise CredentialsError(
            f"AWS profile '{profile}' is not configured: run `aws configure --profile "
            f"{profile}` or pass an existing --profile."
        ) from None
    if session.get_credentials() is None:
        raise CredentialsError(
            "No AWS credentials found: run `aws configure`, set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an execution role "
            "applies (SageMaker, EC2, ECS)."
        )
    if not session.region_name:
        raise CredentialsError(
            "No AWS region set: pass --region, or set AWS_REGION (or AWS_DEFAULT_REGION) "
            "or a region in your AWS profile."
        )
    return AwsSession(session)
