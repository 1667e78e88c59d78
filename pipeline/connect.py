"""``connect(backend)``: the one switch between backends.

Both backends return an object with ``.cloudformation``, ``.sfn``, ``.batch``, ``.logs``,
``.s3`` and ``.events`` — boto3 clients on AWS (adaptive retries), the local backend's
boto3-shaped clients otherwise. Notebooks and the analysis code only ever see these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import N2NError

SERVICES = {
    "cloudformation": "cloudformation",
    "sfn": "stepfunctions",
    "batch": "batch",
    "logs": "logs",
    "s3": "s3",
    "events": "events",
}


class BackendError(N2NError):
    """An unknown backend or backend option."""


@dataclass
class Connection:
    """The clients of one backend, built on first use."""

    backend: str
    factory: Callable[[str], Any]
    home: Path | None = None
    region: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """The client for a botocore service name (``stepfunctions``, ``batch``, ...)."""
        if service not in self._clients:
            self._clients[service] = self.factory(service)
        return self._clients[service]

    def __getattr__(self, name: str) -> Any:
        if name in SERVICES:
            return self.client(SERVICES[name])
        raise AttributeError(name)


def _local(home: Path | None, region: str | None, profile: str | None) -> Connection:
    from pipeline.local import local_client
    from pipeline.local.core.arns import DEFAULT_REGION
    from pipeline.local.core.home import default_home

    if profile:
        raise BackendError("--profile is for the aws backend: drop it or use --backend aws.")
    home = Path(home) if home else default_home()
    region = region or DEFAULT_REGION
    return Connection("local", lambda service: local_client(service, home, region), home, region)


def _aws(home: Path | None, region: str | None, profile: str | None) -> Connection:
    import boto3

    from pipeline.clients import aws_client

    session = boto3.session.Session(profile_name=profile, region_name=region)
    return Connection(
        "aws", lambda service: aws_client(service, session), None, session.region_name
    )


BACKENDS: dict[str, Callable[[Path | None, str | None, str | None], Connection]] = {
    "local": _local,
    "aws": _aws,
}


def connect(
    backend: str = "local",
    *,
    home: Path | str | None = None,
    region: str | None = None,
    profile: str | None = None,
) -> Connection:
    """The clients of ``backend`` ("local" or "aws")."""
    if backend not in BACKENDS:
        raise BackendError(f"Unknown backend {backend!r}: use one of {', '.join(BACKENDS)}.")
    return BACKENDS[backend](Path(home) if home else None, region, profile)
