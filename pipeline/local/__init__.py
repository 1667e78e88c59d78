"""The embedded local backend: the same template, state machine and worker, on this machine.

One package per AWS service it stands in for; :func:`local_client` builds their clients,
and :func:`worker_environment` routes the worker processes' clients to them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.clients import FACTORY_VARIABLE
from pipeline.errors import N2NError
from pipeline.local.core.arns import DEFAULT_REGION

CLIENTS = {
    "cloudformation": "pipeline.local.cloudformation.client:CloudFormationClient",
    "stepfunctions": "pipeline.local.stepfunctions.client:StepFunctionsClient",
    "batch": "pipeline.local.batch.client:BatchClient",
    "logs": "pipeline.local.logs.client:LogsClient",
    "s3": "pipeline.local.s3.client:S3Client",
}


def local_client(service: str, home: Path, region: str = "us-east-1") -> Any:
    """The local client for a botocore service name."""
    if service not in CLIENTS:
        raise N2NError(
            f"The local backend has no {service!r} service: use one of {', '.join(CLIENTS)}."
        )
    module, _, name = CLIENTS[service].partition(":")
    return getattr(importlib.import_module(module), name)(Path(home), region)


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
