"""ARNs of the local account, and the region they name.

Every regional resource of the local backend lives in the region its ARN names, as on AWS
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html): a client for one
region sees only that region's state machines, stacks, jobs and log groups.
"""

from __future__ import annotations

ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"


def arn(service: str, region: str, resource: str) -> str:
    """An ARN in the local account: ``arn:aws:{service}:{region}:{account}:{resource}``."""
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def region_of(value: str) -> str | None:
    """The region an ARN names, or None when ``value`` is not a regional ARN."""
    parts = value.split(":", 5)
    return parts[3] or None if len(parts) == 6 and parts[0] == "arn" else None


def arn_prefix(service: str, region: str) -> str:
    """What every ARN of ``service`` in ``region`` starts with (for SQL ``LIKE``/prefix tests)."""
    return f"arn:aws:{service}:{region}:{ACCOUNT}:"
