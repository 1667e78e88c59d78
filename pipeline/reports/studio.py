"""SageMaker Studio: whether the kit runs inside it, and the region and execution role
it gives.

Studio (and a SageMaker notebook instance) writes ``/opt/ml/metadata/resource-metadata.json``
into every app: the app's ``ResourceArn`` (whose region is the domain's), the
``DomainId``, the ``UserProfileName`` or ``SpaceName`` and, on recent images, the
``ExecutionRoleArn``. Where the file lacks the role, the SageMaker SDK finds it (the user
profile's, else the domain's default); the SDK is imported only then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import N2NError

METADATA_PATH = Path("/opt/ml/metadata/resource-metadata.json")


class StudioError(N2NError):
    """Studio's metadata, or the role it implies, cannot be read."""


@dataclass(frozen=True)
class StudioApp:
    """The Studio app the kit runs in, from its resource metadata."""

    resource_arn: str
    domain_id: str | None = None
    user_profile_name: str | None = None
    space_name: str | None = None
    execution_role_arn: str | None = None

    @property
    def region(self) -> str:
        """The region of the app (and of its domain)."""
        return self.resource_arn.split(":")[3]


def studio_app(path: Path | None = None) -> StudioApp | None:
    """The Studio app this process runs in, or None outside Studio."""
    path = path or METADATA_PATH
    if not path.is_file():
        return None
    try:
        metadata = json.loads(path.read_text())
        arn = metadata["ResourceArn"]
    except (OSError, ValueError, KeyError, TypeError):
        raise StudioError(
            f"{path} is not Studio's resource metadata (JSON with a ResourceArn): "
            "pass --region and --role instead."
        ) from None
    return StudioApp(
        resource_arn=arn,
        domain_id=metadata.get("DomainId"),
        user_profile_name=metadata.get("UserProfileName"),
        space_name=metadata.get("SpaceName"),
        execution_role_arn=metadata.get("ExecutionRoleArn"),
    )


def execution_role(app: StudioApp | None, sagemaker_session: Any = None) -> str:
    """The execution role: Studio's metadata names it, else the SageMaker SDK finds it
    (the Studio user's role, or the caller's own role outside Studio)."""
    if app and app.execution_role_arn:
        return app.execution_role_arn
    from sagemaker.core.helper.session_helper import get_execution_role

    try:
        return get_execution_role(sagemaker_session)
    except ValueError:
        raise StudioError(
            "No SageMaker execution role found (the AWS identity is not a role and this is "
            "not Studio): pass --role with the ARN of one."
        ) from None
