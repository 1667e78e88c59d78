"""What the engine's forkserver loads before it forks any worker process.

Importing this module loads the local S3 client, botocore, botocore's S3 model, its error
classes and the input shapes of the operations egress calls: every worker needs them on
its first egress, and loaded once in the server they are shared by every worker process it
forks instead of being imported (about half a second of CPU) and held by each one.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.local.core.client import service_model
from pipeline.local.s3.client import S3Client

EGRESS_OPERATIONS = ("PutObject", "HeadObject", "GetObject")


def load_s3_client() -> None:
    """Build a local S3 client once (its model and error classes are cached per process)
    and resolve the input shapes egress validates against."""
    S3Client(Path.cwd())
    model = service_model(S3Client.service_name)
    for operation in EGRESS_OPERATIONS:
        model.operation_model(operation).input_shape  # noqa: B018 (resolves and caches)


load_s3_client()
