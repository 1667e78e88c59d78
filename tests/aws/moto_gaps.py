"""What moto's CloudFormation lacks for the kit's real templates, filled the way AWS
behaves, each gap named (moto 5.x):

- ``AWS::CodeBuild::Project`` has no CloudFormation model: the bootstrap stack's build
  project is made through moto's CodeBuild backend instead.
- ``AWS::Batch::ComputeEnvironment`` requires ``ServiceRole``; AWS Batch makes it optional
  and then uses the service-linked role AWSServiceRoleForBatch (AWS Batch User Guide),
  which is what the template relies on: that role is made and passed.
- ``AWS::EC2::VPCEndpoint``, ``AWS::EC2::RouteTable`` and
  ``AWS::EC2::SubnetRouteTableAssociation`` cannot be deleted by a stack delete, so the VPC
  they sit in never can: they are deleted through moto's EC2 backend.
- ExecuteChangeSet applies the resources but leaves the stack's template, parameters and
  outputs as they were: they are set the way CreateStack sets them.

Nothing else is changed: any other moto error reaches the test and fails it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from moto.batch import models as batch_models
from moto.cloudformation import parsing
from moto.cloudformation.models import CloudFormationBackend
from moto.codebuild.models import codebuild_backends
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.subnets import SubnetRouteTableAssociation
from moto.ec2.models.vpcs import VPCEndPoint
from moto.iam.models import iam_backends

BATCH_SERVICE_LINKED_PATH = "/aws-service-role/batch.amazonaws.com/"


class CodeBuildProject(CloudFormationModel):
    """An ``AWS::CodeBuild::Project`` made in moto's CodeBuild backend."""

    __module__ = "tests.aws.moto_gaps"  # moto's metaclass reads the service from it

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CodeBuild::Project"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(  # type: ignore[override]
        cls, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str, **_
    ) -> CodeBuildProject:
        properties = cloudformation_json["Properties"]
        environment = properties["Environment"]
        codebuild_backends[account_id][region_name].create_project(
            resource_name,
            properties.get("Description"),
            {"type": "S3", "location": properties["Source"]["Location"]},
            {"type": "NO_ARTIFACTS"},
            {
                "type": environment["Type"],
                "image": environment["Image"],
                "computeType": environment["ComputeType"],
            },
            properties["ServiceRole"],
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        )
        return cls(resource_name)


def _with_outputs(original: Callable[..., None]) -> Callable[..., None]:
    def execute_change_set(backend: Any, change_set_name: str, stack_name: Any = None) -> None:
        original(backend, change_set_name, stack_name)
        change_set = backend.change_sets.get(change_set_name) or next(
            cs for cs in backend.change_sets.values() if cs.change_set_name == change_set_name
        )
        stack = change_set.stack
        stack.parameters = stack.resource_map.input_parameters
        stack._parse_template()
        stack.output_map = stack._create_output_map()

    return execute_change_set


def _with_service_linked_role(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(
        cls: type,
        resource_name: str,
        cloudformation_json: dict,
        account_id: str,
        region_name: str,
        **options: Any,
    ) -> Any:
        properties = cloudformation_json["Properties"]
        if "ServiceRole" not in properties:
            iam = iam_backends[account_id]["aws"]
            linked = [r for r in iam.roles.values() if r.path == BATCH_SERVICE_LINKED_PATH]
            role = (
                linked[0]
                if linked
                else iam.create_service_linked_role("batch.amazonaws.com", "", "")
            )
            properties["ServiceRole"] = role.arn
        return original(cls, resource_name, cloudformation_json, account_id, region_name, **options)

    return classmethod(create)


def _delete_endpoint(
    cls: type, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str
) -> None:
    ec2 = ec2_backends[account_id][region_name]
    endpoint = ec2.vpc_end_points.get(resource_name)
    if endpoint is not None:  # a gateway's routes go with tables deleted before it
        tables = endpoint.route_table_ids or []
        endpoint.route_table_ids = [r for r in tables if r in ec2.route_tables]
        ec2.delete_vpc_endpoints([resource_name])


def _delete_route_table(
    cls: type, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str
) -> None:
    ec2 = ec2_backends[account_id][region_name]
    if resource_name in ec2.route_tables:
        ec2.delete_route_table(resource_name)


def _delete_association(
    cls: type, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str
) -> None:
    ec2 = ec2_backends[account_id][region_name]
    subnet = cloudformation_json["Properties"]["SubnetId"]
    table = ec2.route_tables.get(resource_name)
    associations = table._associations if table else {}
    for association, associated in list(associations.items()):
        if associated == subnet:
            ec2.disassociate_route_table(association)


def keep_change_set_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ExecuteChangeSet set the stack's parameters and outputs, for one test."""
    monkeypatch.setattr(
        CloudFormationBackend,
        "execute_change_set",
        _with_outputs(CloudFormationBackend.execute_change_set),
    )


def fill_moto_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Install the fills above for one test."""
    keep_change_set_outputs(monkeypatch)
    models = parsing.get_model_map()
    monkeypatch.setattr(
        parsing,
        "get_model_map",
        lambda: {**models, CodeBuildProject.cloudformation_type(): CodeBuildProject},
    )
    original = batch_models.ComputeEnvironment.create_from_cloudformation_json.__func__
    monkeypatch.setattr(
        batch_models.ComputeEnvironment,
        "create_from_cloudformation_json",
        _with_service_linked_role(original),
    )
    for model, delete in (
        (VPCEndPoint, _delete_endpoint),
        (RouteTable, _delete_route_table),
        (SubnetRouteTableAssociation, _delete_association),
    ):
        monkeypatch.setattr(
            model, "delete_from_cloudformation_json", classmethod(delete), raising=False
        )
