"""Deploy and tear down the pipeline on a backend chosen by name.

Deployers come from a registry: a backend registers a factory with
:func:`register_deployer`, and :func:`deploy` / :func:`teardown` call the one named. The
``aws`` deployer is registered here and imported only when used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from pipeline.errors import N2NError

DEFAULT_STACK = "n2n"
PARAMETER = re.compile(r"^(?P<key>[A-Za-z0-9]+)=(?P<value>.*)$", re.DOTALL)


class DeployError(N2NError):
    """The deploy request itself is unusable: unknown backend, malformed parameter."""


class Deployer(Protocol):
    """What a backend provides to deploy and tear down a pipeline stack."""

    def deploy(self, stack: str, parameters: Mapping[str, str]) -> dict[str, str]:
        """Create or update ``stack``; return its outputs."""

    def teardown(self, stack: str, purge: bool = False) -> list[str]:
        """Delete ``stack`` (with ``purge``, its retained data too); return what was removed."""


DeployerFactory = Callable[..., Deployer]
DEPLOYERS: dict[str, DeployerFactory] = {}


def register_deployer(backend: str, factory: DeployerFactory) -> None:
    """Make ``factory(**options)`` the deployer of ``backend``."""
    DEPLOYERS[backend] = factory


def deployer(backend: str, **options: Any) -> Deployer:
    """The deployer of ``backend``, built with the backend's ``options``."""
    factory = DEPLOYERS.get(backend)
    if factory is None:
        known = ", ".join(sorted(DEPLOYERS)) or "none"
        raise DeployError(f"No deployer is registered for backend '{backend}': use one of {known}.")
    return factory(**options)


def parse_parameters(items: Iterable[str]) -> dict[str, str]:
    """``["Key=Value", ...]`` as a dict; a malformed item is a :class:`DeployError`."""
    parameters: dict[str, str] = {}
    for item in items:
        match = PARAMETER.match(item)
        if match is None:
            raise DeployError(
                f"Parameter '{item}' is not KEY=VALUE with an alphanumeric KEY: write it "
                "like --parameter MaxVcpus=256."
            )
        parameters[match["key"]] = match["value"]
    return parameters


def deploy(
    backend: str,
    stack: str = DEFAULT_STACK,
    parameters: Mapping[str, str] | None = None,
    **options: Any,
) -> dict[str, str]:
    """Deploy ``stack`` on ``backend``; return the stack outputs."""
    return deployer(backend, **options).deploy(stack, dict(parameters or {}))


def teardown(
    backend: str, stack: str = DEFAULT_STACK, purge: bool = False, **options: Any
) -> list[str]:
    """Tear ``stack`` down on ``backend``; return what was removed."""
    return deployer(backend, **options).teardown(stack, purge=purge)


def _aws_deployer(**options: Any) -> Deployer:
    from pipeline.deploy.aws.deploy import AwsDeployer

    return AwsDeployer.connect(**options)


register_deployer("aws", _aws_deployer)


def _local_deployer(
    home: Any = None, region: str | None = None, profile: str | None = None
) -> Deployer:
    from pipeline.deploy.local import LocalDeployer

    if profile:
        raise DeployError("--profile is for the aws backend: drop it or use --backend aws.")
    return LocalDeployer(home=home, region=region)


register_deployer("local", _local_deployer)
