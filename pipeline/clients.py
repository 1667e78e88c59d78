"""boto3 clients for code that runs inside Lambda and Batch (standard library + boto3 only).

Every client uses botocore's adaptive retry mode, configured once here. The local backend
installs its own factory so the same handler and worker code talks to local clients: in
its own process with :func:`set_client_factory`, in the worker processes it starts by
naming a factory in the job's environment (``N2N_CLIENT_FACTORY``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10})
FACTORY_VARIABLE = "N2N_CLIENT_FACTORY"
"""``module:function`` taking the environment and returning a client factory."""

ClientFactory = Callable[[str], Any]
_factory: ClientFactory | None = None


def aws_client(service: str, session: boto3.session.Session | None = None) -> Any:
    """A boto3 client for ``service`` with adaptive retries."""
    return (session or boto3.session.Session()).client(service, config=RETRY_CONFIG)


def client(service: str) -> Any:
    """The client handlers and the worker use: AWS, or the installed local factory."""
    return _factory(service) if _factory else aws_client(service)


@contextmanager
def factory_named_in(environ: Mapping[str, str]) -> Iterator[None]:
    """Route :func:`client` to the factory ``environ`` names in ``N2N_CLIENT_FACTORY`` for
    the block (nothing changes when it names none, as on AWS)."""
    name = environ.get(FACTORY_VARIABLE)
    if not name:
        yield
        return
    global _factory
    module, _, function = name.partition(":")
    previous, _factory = _factory, getattr(importlib.import_module(module), function)(environ)
    try:
        yield
    finally:
        _factory = previous


def set_client_factory(factory: ClientFactory | None) -> None:
    """Route :func:`client` to ``factory`` (the local backend), or back to AWS with None."""
    global _factory
    _factory = factory
