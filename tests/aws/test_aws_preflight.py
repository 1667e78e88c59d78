"""Checks before a deploy creates anything (moto's EC2 for the subnets): a Region without
EFS for Lambda and subnets that one mount target each cannot serve are refused in one
sentence, and nothing is created."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.deploy.aws.deploy import AwsDeployer
from pipeline.deploy.aws.preflight import check_network, check_region
from pipeline.deploy.aws.session import AwsSession
from pipeline.errors import StackError


@pytest.fixture
def vpc(aws: AwsSession) -> dict[str, str]:
    """A VPC with subnets a and b in us-east-1a, c in us-east-1b; their ids by name."""
    ec2 = aws.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ids = {"vpc": vpc_id}
    for name, zone, cidr in (
        ("a", "us-east-1a", "10.0.1.0/24"),
        ("b", "us-east-1a", "10.0.2.0/24"),
        ("c", "us-east-1b", "10.0.3.0/24"),
    ):
        subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone)
        ids[name] = subnet["Subnet"]["SubnetId"]
    return ids


def test_two_subnets_in_two_zones_pass(aws: AwsSession, vpc: dict[str, str]):
    check_network(aws, {"VpcId": vpc["vpc"], "SubnetIds": f"{vpc['a']},{vpc['c']}"})


def test_two_subnets_in_one_zone_are_refused(aws: AwsSession, vpc: dict[str, str]):
    """EFS allows one mount target per Availability Zone: MountTargetB would fail."""
    with pytest.raises(StackError, match="both in us-east-1a: give two subnets in two"):
        check_network(aws, {"VpcId": vpc["vpc"], "SubnetIds": f"{vpc['a']},{vpc['b']}"})


def test_a_third_subnet_is_refused(aws: AwsSession, vpc: dict[str, str]):
    """A third zone would have no mount target, and PrepareFunction would fail to create."""
    subnets = f"{vpc['a']},{vpc['c']},{vpc['b']}"
    with pytest.raises(StackError, match="names 3 subnets: give exactly two"):
        check_network(aws, {"VpcId": vpc["vpc"], "SubnetIds": subnets})


def test_a_subnet_of_another_vpc_is_refused(aws: AwsSession, vpc: dict[str, str]):
    other = aws.client("ec2").create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    with pytest.raises(StackError, match=f"is not in VPC {other}"):
        check_network(aws, {"VpcId": other, "SubnetIds": f"{vpc['a']},{vpc['c']}"})


def test_no_given_network_needs_no_check(aws: AwsSession):
    check_network(aws, {})


@pytest.mark.parametrize(
    "region", ["ap-southeast-6", "ap-east-2", "ap-southeast-5", "mx-central-1", "ca-west-1"]
)
def test_regions_without_efs_for_lambda_are_refused(region: str):
    # The Lambda Developer Guide's list: New Zealand, Taipei, Malaysia, Mexico (Central),
    # Thailand and Canada West (Calgary) have no EFS for Lambda.
    with pytest.raises(StackError, match=f"Region {region} .* has no Amazon EFS for Lambda"):
        check_region(region)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_regions_with_efs_for_lambda_pass(region: str):
    check_region(region)


def test_a_refused_network_creates_nothing(aws: AwsSession, project: Path, vpc: dict[str, str]):
    parameters = {"VpcId": vpc["vpc"], "SubnetIds": f"{vpc['a']},{vpc['b']}"}
    with pytest.raises(StackError):
        AwsDeployer(aws, project).deploy("n2n", parameters)
    assert aws.client("cloudformation").describe_stacks()["Stacks"] == []
    assert aws.client("s3").list_buckets()["Buckets"] == []
