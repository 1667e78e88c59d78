"""The real template, infra/template.yaml, resolved locally with its default parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.local.cloudformation.template import ResolvedStack, load_template, resolve_stack

TEMPLATE = Path(__file__).resolve().parents[4] / "infra" / "template.yaml"
pytestmark = pytest.mark.skipif(not TEMPLATE.exists(), reason="infra/template.yaml is absent")

# Values for the parameters the template may declare without a default.
REQUIRED = {
    "CodeS3Bucket": "n2n-artifacts-000000000000",
    "CodeS3Key": "lambda/0123456789abcdef.zip",
    "WorkerImageUri": "000000000000.dkr.ecr.us-east-1.amazonaws.com/n2n-worker:0123456789ab",
}
KEY_RESOURCES = {
    "ProcureJobDefinition": "AWS::Batch::JobDefinition",
    "PipelineStateMachine": "AWS::StepFunctions::StateMachine",
    "EgressBucket": "AWS::S3::Bucket",
    "FileSystem": "AWS::EFS::FileSystem",
    "AccessPoint": "AWS::EFS::AccessPoint",
}


def _resolve(**overrides: str) -> ResolvedStack:
    template = load_template(TEMPLATE.read_text())
    declared = template.get("Parameters", {})
    given = {
        name: value
        for name, value in REQUIRED.items()
        if name in declared and "Default" not in declared[name]
    }
    return resolve_stack(template, "n2n", {**given, **overrides})


def _intrinsics_left(value: Any, path: str = "") -> list[str]:
    """Paths of any Ref / Fn::* still in a resolved value."""
    if isinstance(value, dict):
        found = [f"{path}.{key}" for key in value if key == "Ref" or str(key).startswith("Fn::")]
        for key, item in value.items():
            found += _intrinsics_left(item, f"{path}.{key}")
        return found
    if isinstance(value, list):
        return [
            hit for i, item in enumerate(value) for hit in _intrinsics_left(item, f"{path}[{i}]")
        ]
    return []


def test_resolves_with_default_parameters():
    stack = _resolve()
    for name, resource_type in KEY_RESOURCES.items():
        assert stack.resources[name].type == resource_type
    for resource in stack.resources.values():
        assert _intrinsics_left(resource.properties) == [], resource.logical_id
    assert stack.resources["FileSystem"].physical_id.startswith("fs-")
    assert stack.resources["AccessPoint"].physical_id.startswith("fsap-")
    assert stack.resources["ProcureJobDefinition"].physical_id.startswith(
        "arn:aws:batch:us-east-1:000000000000:job-definition/"
    )
    assert stack.resources["PipelineStateMachine"].physical_id.startswith(
        "arn:aws:states:us-east-1:000000000000:stateMachine:"
    )


def test_outputs_resolve_to_strings():
    stack = _resolve()
    assert stack.outputs
    assert all(isinstance(value, str) and value for value in stack.outputs.values())
    physical_ids = {resource.physical_id for resource in stack.resources.values()}
    assert stack.resources["PipelineStateMachine"].physical_id in stack.outputs.values()
    assert physical_ids & set(stack.outputs.values())


def test_job_definitions_point_at_the_file_system_and_log_group():
    stack = _resolve()
    file_system = stack.resources["FileSystem"].physical_id
    job_definitions = [r for r in stack.resources.values() if r.type == "AWS::Batch::JobDefinition"]
    assert len(job_definitions) >= 3
    for definition in job_definitions:
        container = definition.properties["ContainerProperties"]
        volumes = container.get("Volumes", [])
        assert any(
            volume.get("EfsVolumeConfiguration", {}).get("FileSystemId") == file_system
            for volume in volumes
        ), definition.logical_id


def test_resources_come_after_what_they_need():
    stack = _resolve()
    order = list(stack.resources)
    for position, resource in enumerate(stack.resources.values()):
        assert all(order.index(need) < position for need in resource.depends_on)


def test_existing_network_parameters_switch_the_vpc_off():
    template = load_template(TEMPLATE.read_text())
    declared = template.get("Parameters", {})
    if not {"VpcId", "SubnetIds"} <= set(declared):
        pytest.skip("the template has no VpcId / SubnetIds parameters")
    subnets = "subnet-0123456789abcdef0,subnet-0123456789abcdef1"
    stack = _resolve(VpcId="vpc-0123456789abcdef0", SubnetIds=subnets)
    assert not any(r.type == "AWS::EC2::VPC" for r in stack.resources.values())
    mount_targets = [r for r in stack.resources.values() if r.type == "AWS::EFS::MountTarget"]
    assert {target.properties["SubnetId"] for target in mount_targets} == set(subnets.split(","))
