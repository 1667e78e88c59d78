"""boto3 clients for code that runs inside Lambda and Batch (standard library + boto3 only).

Every client uses botocore's adaptive retry mode, configured once here. The local backend
installs its own factory so the same handler code talks to local clients when it runs
in-process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10})

ClientFactory = Callable[[str], Any]
_factory: ClientFactory | None = None


def aws_client(service: str, session: boto3.session.Session | None = None) -> Any:
    """A boto3 client for ``service`` with adaptive retries."""
    return (session or boto3.session.Session()).client(service, config=RETRY_CONFIG)


def client(service: str) -> Any:
    """The client handlers and the worker use: AWS, or the installed local factory."""
    return _factory(service) if _factory else aws_client(service)


def set_client_factory(factory: ClientFactory | None) -> None:
    """Route :func:`client` to ``factory`` (the local backend), or back to AWS with None."""
    global _factory
    _factory = factory
