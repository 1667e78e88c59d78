"""Checks before a deploy creates anything: the Region and the network must be ones the
stack can be created in, or the deploy stops with one sentence saying what to change.

Both would otherwise fail deep into a stack create (and roll back): Lambda cannot mount
EFS in every Region, and Lambda needs an EFS mount target in every Availability Zone its
subnets are in, while the template makes exactly one mount target per subnet.
"""

from __future__ import annotations

from collections.abc import Mapping

from botocore.exceptions import ClientError

from pipeline.deploy.aws.session import AwsSession
from pipeline.errors import StackError

# "Amazon EFS for Lambda is available in all commercial Regions except ..." (AWS Lambda
# Developer Guide, Configuring file system access for Lambda functions, Supported Regions:
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-filesystem.html).
REGIONS_WITHOUT_LAMBDA_EFS = {
    "ap-southeast-6": "Asia Pacific (New Zealand)",
    "ap-east-2": "Asia Pacific (Taipei)",
    "ap-southeast-5": "Asia Pacific (Malaysia)",
    "mx-central-1": "Mexico (Central)",
    "ap-southeast-7": "Asia Pacific (Thailand)",
    "ca-west-1": "Canada West (Calgary)",
}
SUBNET_COUNT = 2


def check_region(region: str) -> None:
    """Refuse a Region where Lambda functions cannot mount EFS."""
    if region in REGIONS_WITHOUT_LAMBDA_EFS:
        raise StackError(
            f"Region {region} ({REGIONS_WITHOUT_LAMBDA_EFS[region]}) has no Amazon EFS for "
            "Lambda, which the prepare Lambda needs: deploy to another Region with --region."
        )


def check_network(aws: AwsSession, parameters: Mapping[str, str]) -> None:
    """With VpcId and SubnetIds given: exactly two subnets of that VPC, in two different
    Availability Zones (one EFS mount target each serves every zone the Lambdas use)."""
    vpc, listed = parameters.get("VpcId", ""), parameters.get("SubnetIds", "")
    if not vpc or not listed:
        return
    ids = [subnet.strip() for subnet in listed.split(",") if subnet.strip()]
    if len(ids) != SUBNET_COUNT:
        raise StackError(
            f"SubnetIds names {len(ids)} subnets: give exactly two, in two different "
            "Availability Zones of VpcId (each gets an EFS mount target)."
        )
    try:
        subnets = aws.client("ec2").describe_subnets(SubnetIds=ids)["Subnets"]
    except ClientError as error:
        message = error.response["Error"].get("Message", "").rstrip(".")
        raise StackError(f"SubnetIds cannot be used: {message}.") from None
    elsewhere = [s["SubnetId"] for s in subnets if s["VpcId"] != vpc]
    if elsewhere:
        raise StackError(f"Subnet {elsewhere[0]} is not in VPC {vpc}: give two subnets of VpcId.")
    zones = {s["AvailabilityZone"] for s in subnets}
    if len(zones) != SUBNET_COUNT:
        raise StackError(
            f"Subnets {' and '.join(ids)} are both in {zones.pop()}: give two subnets in two "
            "different Availability Zones (Lambda needs an EFS mount target in every zone "
            "it connects to, and a second target in the same zone is refused)."
        )
