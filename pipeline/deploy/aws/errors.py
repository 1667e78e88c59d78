"""Errors of the AWS deployer; each message is one sentence that says what to change."""

from pipeline.errors import N2NError


class CredentialsError(N2NError):
    """No usable AWS credentials, profile or region."""


class BuildError(N2NError):
    """The worker image or the deploy artifacts could not be built."""
