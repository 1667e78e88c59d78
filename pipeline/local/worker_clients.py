"""The AWS clients of the worker processes the local Batch engine starts.

A job's environment names :func:`environment_clients` in ``N2N_CLIENT_FACTORY`` (see
:func:`worker_environment`), so the worker's ``pipeline.clients.client`` reaches the local
backend with no local code path in the worker itself. The engine's worker processes fork
from a server that imported this module and, with ``pipeline.local.batch.worker_preload``,
the S3 client and botocore's S3 model egress needs, shared by every worker it forks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.clients import FACTORY_VARIABLE
from pipeline.local import local_client
from pipeline.local.core.arns import DEFAULT_REGION


def environment_clients(environ: Mapping[str, str]) -> Callable[[str], Any]:
    """The client factory of a process the local backend started: the local clients of
    ``N2N_HOME`` in ``AWS_REGION`` (what Batch and Lambda set on AWS)."""
    home = Path(environ["N2N_HOME"])
    region = environ.get("AWS_REGION") or DEFAULT_REGION
    return lambda service: local_client(service, home, region)


def worker_environment(home: Path) -> dict[str, str]:
    """Variables that route a worker's ``pipeline.clients.client`` to the backend of ``home``."""
    return {
        FACTORY_VARIABLE: f"{__name__}:{environment_clients.__name__}",
        "N2N_HOME": str(home),
    }
