"""The embedded local backend: the same template, state machine and worker, on this machine.

One package per AWS service it stands in for; :func:`local_client` builds their clients.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from pipeline.errors import N2NError

CLIENTS = {
    "cloudformation": "pipeline.local.cloudformation.client:CloudFormationClient",
    "stepfunctions": "pipeline.local.stepfunctions.client:StepFunctionsClient",
    "batch": "pipeline.local.batch.client:BatchClient",
    "logs": "pipeline.local.logs.client:LogsClient",
    "s3": "pipeline.local.s3.client:S3Client",
    "events": "pipeline.local.events.client:EventsClient",
}


def local_client(service: str, home: Path, region: str = "us-east-1") -> Any:
    """The local client for a botocore service name."""
    if service not in CLIENTS:
        raise N2NError(
            f"The local backend has no {service!r} service: use one of {', '.join(CLIENTS)}."
        )
    module, _, name = CLIENTS[service].partition(":")
    return getattr(importlib.import_module(module), name)(Path(home), region)
