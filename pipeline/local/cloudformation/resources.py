"""Local resource types of a CloudFormation stack, by type name (a registry).

Each provisioner checks a resolved resource before anything is created (so a template
the local backend cannot honour fails the deploy naming the resource, with nothing left
behind), creates it on the local services, and deletes it. Types with no local behaviour
(network, IAM, KMS, endpoints...) are recorded only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore
from botocore.exceptions import ClientError, ParamValidationError

from pipeline.errors import N2NError
from pipeline.local.awslambda.functions import LambdaFunctions, LocalFunction
from pipeline.local.core.client import service_model
from pipeline.local.core.home import bucket_folder, efs_folder
from pipeline.local.core.shapes import to_api
from pipeline.local.events.expressions import ScheduleExpressionError, parse_schedule
from pipeline.local.events.rules import Rules, Target
from pipeline.local.stepfunctions.asl import UnsupportedDefinition, validate_definition


class ResourceError(N2NError):
    """A resource the local backend cannot create as the template describes it."""


@dataclass
class DeployContext:
    """What provisioners need: the home, the local clients and the whole resolved stack."""

    home: Path
    clients: Any
    resources: Mapping[str, Any]

    def by_physical_id(self, physical_id: str, resource_type: str) -> Any:
        """The stack's resource of ``resource_type`` with this physical id or ARN."""
        for resource in self.resources.values():
            ids = {resource.physical_id, resource.attributes.get("Arn")}
            if resource.type == resource_type and physical_id in ids:
                return resource
        raise ResourceError(f"No {resource_type} {physical_id} in the stack.")

    def access_point_folder(self, access_point: str) -> Path:
        """The local folder an EFS access point exposes."""
        point = self.by_physical_id(access_point, "AWS::EFS::AccessPoint")
        root = point.properties.get("RootDirectory", {}).get("Path", "/")
        return efs_folder(self.home, point.properties["FileSystemId"], root)


class Provisioner:
    """A resource type with no local behaviour: recorded in the stack, nothing more."""

    def check(self, resource: Any, context: DeployContext) -> None:
        """Raise ResourceError when the resource cannot be honoured locally."""

    def create(self, resource: Any, context: DeployContext) -> None:
        """Create the local counterpart of the resource."""

    def update(self, old: Any, new: Any, context: DeployContext) -> None:
        """Bring the local counterpart from ``old`` to ``new`` (default: create again,
        which every data-bearing type does idempotently)."""
        self.create(new, context)

    def delete(self, resource: Any, context: DeployContext, purge: bool) -> None:
        """Remove the local counterpart (retained data stays unless ``purge``)."""


def _fail(resource: Any, problem: str) -> ResourceError:
    return ResourceError(f"Resource {resource.logical_id} ({resource.type}) {problem}")


def _removes(resource: Any, purge: bool) -> bool:
    """Whether deleting the stack removes the resource's data (retained data needs purge)."""
    return purge or resource.deletion_policy not in ("Retain", "RetainExceptOnCreate")


CFN_ONLY_PROPERTIES = frozenset(
    {"ReplaceComputeEnvironment", "UpdatePolicy", "ResourceRetentionPolicy"}
)


def _request(resource: Any, service: str, operation: str, params: Mapping[str, Any]) -> dict:
    """The API request a resource's properties stand for; CloudFormation-only properties
    (update behaviour) have no local meaning and are left out."""
    shape = service_model(service).operation_model(operation).input_shape
    kept = {key: value for key, value in params.items() if key not in CFN_ONLY_PROPERTIES}
    request = to_api(kept, shape)
    allowed = set(shape.members)
    unknown = sorted(set(request) - allowed)
    if unknown:
        raise _fail(
            resource, f"has properties the local backend cannot honour: {', '.join(unknown)}."
        )
    return request


def _batch_name(resource: Any) -> str:
    """The name inside a Batch resource's ARN (``.../NAME`` or ``.../NAME:REVISION``)."""
    return resource.physical_id.rsplit("/", 1)[-1].split(":")[0]


def _call(resource: Any, method: Any, request: Mapping[str, Any]) -> Any:
    try:
        return method(**request)
    except (ClientError, ParamValidationError) as error:
        raise _fail(resource, f"was rejected: {error}") from None


class BatchFleet(Provisioner):
    """A Batch compute environment or job queue (``noun``), created, updated and deleted
    through the batch client's operations of that noun."""

    def __init__(self, noun: str, updatable: tuple[str, ...]) -> None:
        self.noun = noun
        self.operation = botocore.xform_name(noun)
        self.key = noun[0].lower() + noun[1:]
        self.updatable = updatable

    def _request(self, resource: Any) -> dict:
        params = {**resource.properties, f"{self.noun}Name": _batch_name(resource)}
        return _request(resource, "batch", f"Create{self.noun}", params)

    def _method(self, context: DeployContext, verb: str) -> Any:
        return getattr(context.clients.batch, f"{verb}_{self.operation}")

    def check(self, resource: Any, context: DeployContext) -> None:
        self._request(resource)

    def create(self, resource: Any, context: DeployContext) -> None:
        _call(resource, self._method(context, "create"), self._request(resource))

    def update(self, old: Any, new: Any, context: DeployContext) -> None:
        request = self._request(new)
        fields = {key: request[key] for key in self.updatable if key in request}
        _call(new, self._method(context, "update"), {self.key: new.physical_id, **fields})

    def delete(self, resource: Any, context: DeployContext, purge: bool) -> None:
        self._method(context, "update")(**{self.key: resource.physical_id, "state": "DISABLED"})
        self._method(context, "delete")(**{self.key: resource.physical_id})


class JobDefinition(Provisioner):
    """A Batch job definition; EFS volumes behind an access point become host folders."""

    def _request(self, resource: Any, context: DeployContext) -> dict:
        params = {**resource.properties, "JobDefinitionName": _batch_name(resource)}
        request = _request(resource, "batch", "RegisterJobDefinition", params)
        for volume in request.get("containerProperties", {}).get("volumes", []):
            efs = volume.get("efsVolumeConfiguration")
            point = (efs or {}).get("authorizationConfig", {}).get("accessPointId")
            if point:
                volume.pop("efsVolumeConfiguration")
                volume["host"] = {"sourcePath": str(context.access_point_folder(point))}
        return request

    def check(self, resource: Any, context: DeployContext) -> None:
        unsupported = {"NodeProperties", "EksProperties", "EcsProperties"} & set(
            resource.properties
        )
        if unsupported:
            raise _fail(
                resource,
                f"uses {', '.join(sorted(unsupported))}, which the local backend "
                "cannot run: use ContainerProperties.",
            )
        self._request(resource, context)

    def create(self, resource: Any, context: DeployContext) -> None:
        request = self._request(resource, context)
        _call(resource, context.clients.batch.register_job_definition, request)

    def update(self, old: Any, new: Any, context: DeployContext) -> None:
        if new.physical_id != old.physical_id:
            self.create(new, context)
            self.delete(old, context, purge=False)

    def delete(self, resource: Any, context: DeployContext, purge: bool) -> None:
        context.clients.batch.deregister_job_definition(jobDefinition=resource.physical_id)


class Function(Provisioner):
    """A Lambda function whose ``Handler`` runs in a local execution environment."""

    def _function(self, resource: Any, context: DeployContext) -> LocalFunction:
        props = resource.properties
        environment = dict(props.get("Environment", {}).get("Variables", {}))
        for mount in props.get("FileSystemConfigs", []):
            folder = context.access_point_folder(mount["Arn"])
            environment = {
                name: value.replace(mount["LocalMountPath"], str(folder), 1)
                if value.startswith(mount["LocalMountPath"])
                else value
                for name, value in environment.items()
            }
        return LocalFunction(
            name=resource.physical_id,
            arn=resource.attributes["Arn"],
            handler=props["Handler"],
            environment=environment,
            timeout_s=int(props.get("Timeout", 3)),
        )

    def check(self, resource: Any, context: DeployContext) -> None:
        runtime = str(resource.properties.get("Runtime", ""))
        if not runtime.startswith("python"):
            raise _fail(resource, f"has Runtime {runtime!r}: the local backend runs python only.")
        module = str(resource.properties.get("Handler", "")).rpartition(".")[0]
        if not module or importlib.util.find_spec(module) is None:
            raise _fail(resource, f"names a Handler whose module {module!r} is not importable.")
        self._function(resource, context)

    def create(self, resource: Any, context: DeployContext) -> None:
        LambdaFunctions(context.home).put(self._function(resource, context))

    def delete(self, resource: Any, context: DeployContext, purge: bool) -> None:
        LambdaFunctions(context.home).delete(resource.physical_id)


class StateMachine(Provisioner):
    """A state machine: the definition with its substitutions, run by the interpreter."""

    @staticmethod
    def definition(resource: Any) -> str:
        """The definition text with ``DefinitionSubstitutions`` applied."""
        props = resource.properties
        text = props.get("DefinitionString")
        if text is None:
            text = json.dumps(props.get("Definition", {}))
        for key, value in props.get("DefinitionSubstitutions", {}).items():
            text = text.replace("${" + key + "}", str(value))
        try:
            return json.dumps(json.loads(text))
        except ValueError as error:
            raise _fail(resource, f"has a definition that is not JSON: {error}.") from None

    def check(self, resource: Any, context: DeployContext) -> None:
        from pipeline.local.stepfunctions.integrations import supports_resource

        try:
            validate_definition(json.loads(self.definition(resource)), supports_resource)
        except UnsupportedDefinition as error:
            raise ResourceError(
                f"Resource {resource.logical_id} ({resource.type}): {error}"
            ) from None

    def create(self, resource: Any, context: DeployContext) -> None:
        context.clients.sfn.create_state_machine(
            name=resource.attributes["Name"],
            definition=self.definition(resource),
            roleArn=str(resource.properties.get("RoleArn", ""))
            or "arn:aws:iam::000000000000:role/local",
        )

    def update(self, old: Any, new: Any, context: DeployContext) -> None:
        context.clients.sfn.update_state_machine(
            stateMachineArn=new.physical_id, definition=self.definition(new)
        )

    def delete(self, resource: Any, context: DeployContext, purge: bool) -> None:
        context.clients.sfn.delete_state_machine(stateMachineArn=resource.physical_id)


class ScheduledRule(Provisioner):
    """An EventBridge rule with a ``ScheduleExpression`` whose targets are state machines of
    the stack: while it is ENABLED the runner starts an execution per target on schedule."""

    def _targets(self, resource: Any, context: DeployContext) -> list[Target]:
        targets = []
        for target in resource.properties.get("Targets", []):
            unsupported = sorted({"InputPath", "InputTransformer"} & set(target))
            if unsupported:
                raise _fail(
                    resource,
                    f"target {target.get('Id')} uses {', '.join(unsupported)}, which the local "
                    "backend cannot honour: give it a constant Input or none.",
                )
            try:
                context.by_physical_id(target["Arn"], "AWS::StepFunctions::StateMachine")
            except ResourceError:
                raise _fail(
                    resource,
                    f"target {target.get('Id')} is not a state machine of this stack: the "
                    "local backend starts the stack's own state machines only.",
                ) from None
            targets.append(Target(target["Id"], target["Arn"], target.get("Input")))
        return targets

    def check(self, resource: Any, context: DeployContext) -> None:
        props = resource.properties
        if "ScheduleExpression" not in props:
            raise _fail(
                resource,
                "has no ScheduleExpression: the local backend runs scheduled rules only.",
            )
        if props.get("State", "ENABLED") not in ("ENABLED", "DISABLED"):
            raise _fail(resource, f"has State {props['State']!r}: use ENABLED or DISABLED.")
        try:
            parse_schedule(props["ScheduleExpression"])
        except ScheduleExpressionError as error:
            raise ResourceError(
                f"Resource {resource.logical_id} ({resource.type}): {error}"
            ) from None
        self._targets(resource, context)

    def create(self, resource: Any, context: DeployContext) -> None:
        from pipeline.local.runner import ensure_runner
        from pipeline.local.stepfunctions.executions import time_scale

        state = resource.properties.get("State", "ENABLED")
        Rules(context.home).put(
            resource.attributes["Arn"],
            resource.physical_id,
            resource.properties["ScheduleExpression"],
            state,
            self._targets(resource, context),
            time_scale(),
        )
        if state == "ENABLED":
            ensure_runner(context.home)

    def update(self, old: Any, new: Any, context: DeployContext) -> None:
        if old.attributes["Arn"] != new.attributes["Arn"]:
            self.delete(old, context, purge=False)
        self.create(new, context)

    def delete(self, resource: Any, context: DeployContext, purge: bool) -> None:
        Rules(context.home).delete(resource.attributes["Arn"])


class Folder(Provisioner):
    """A data-bearing resource kept as a folder under the home (a bucket under ``s3/``, a
    file system under ``efs/``); deleting it keeps retained data unless purged."""

    def __init__(self, folder: Callable[[Path, str], Path]) -> None:
        self.folder = folder

    def create(self, resource: Any, context: DeployContext) -> None:
        self.folder(context.home, resource.physical_id).mkdir(parents=True, exist_ok=True)

    def delete(self, resource: Any, context: DeployContext, purge: bool) -> None:
        if _removes(resource, purge):
            shutil.rmtree(self.folder(context.home, resource.physical_id), ignore_errors=True)


class AccessPoint(Provisioner):
    """An EFS access point: its root directory inside the file system's folder."""

    def create(self, resource: Any, context: DeployContext) -> None:
        context.access_point_folder(resource.physical_id).mkdir(parents=True, exist_ok=True)


class LogGroup(Provisioner):
    """A CloudWatch log group in the local log store."""

    def create(self, resource: Any, context: DeployContext) -> None:
        logs = context.clients.logs
        name = resource.physical_id
        existing = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        if not any(group["logGroupName"] == name for group in existing):
            logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in resource.properties:
            days = int(resource.properties["RetentionInDays"])
            logs.put_retention_policy(logGroupName=name, retentionInDays=days)

    def delete(self, resource: Any, context: DeployContext, purge: bool) -> None:
        if _removes(resource, purge):
            with contextlib.suppress(ClientError):
                context.clients.logs.delete_log_group(logGroupName=resource.physical_id)


RECORDED_PREFIXES = (
    "AWS::EC2::",
    "AWS::IAM::",
    "AWS::KMS::",
    "AWS::Events::",
    "AWS::Scheduler::",
    "AWS::ECR::",
    "AWS::CodeBuild::",
    "AWS::CloudWatch::",
    "AWS::SNS::",
)
RECORDED_TYPES = frozenset(
    {
        "AWS::Lambda::Permission",
        "AWS::EFS::MountTarget",
        "AWS::S3::BucketPolicy",
        "AWS::Logs::ResourcePolicy",
        "AWS::Logs::SubscriptionFilter",
        "AWS::Batch::SchedulingPolicy",
    }
)

PROVISIONERS: dict[str, Provisioner] = {
    "AWS::Batch::ComputeEnvironment": BatchFleet(
        "ComputeEnvironment", ("state", "computeResources", "serviceRole")
    ),
    "AWS::Batch::JobQueue": BatchFleet(
        "JobQueue", ("state", "priority", "computeEnvironmentOrder")
    ),
    "AWS::Batch::JobDefinition": JobDefinition(),
    "AWS::Lambda::Function": Function(),
    "AWS::StepFunctions::StateMachine": StateMachine(),
    "AWS::Events::Rule": ScheduledRule(),
    "AWS::S3::Bucket": Folder(bucket_folder),
    "AWS::EFS::FileSystem": Folder(efs_folder),
    "AWS::EFS::AccessPoint": AccessPoint(),
    "AWS::Logs::LogGroup": LogGroup(),
}
_RECORDED = Provisioner()


def provisioner(resource: Any) -> Provisioner:
    """The provisioner of a resource's type; unknown types fail the deploy by name."""
    if resource.type in PROVISIONERS:
        return PROVISIONERS[resource.type]
    if resource.type in RECORDED_TYPES or resource.type.startswith(RECORDED_PREFIXES):
        return _RECORDED
    raise _fail(resource, "is a type the local backend does not know: remove it or deploy to AWS.")
