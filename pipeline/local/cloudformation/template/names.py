"""AWS-like physical ids and ``Fn::GetAtt`` attributes per resource type: a registry of
resource type → namer, deterministic in (stack name, logical id) so an update keeps names."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Namer = Callable[[str, str, dict[str, Any]], tuple[str, dict[str, Any]]]
"""``namer(logical_id, resource_type, resolved_properties) -> (physical_id, attributes)``."""

# Region prefix → (partition, URL suffix); any other region is in the ``aws`` partition.
_PARTITIONS = {
    "cn-": ("aws-cn", "amazonaws.com.cn"),
    "us-gov-": ("aws-us-gov", "amazonaws.com"),
}


def partition_of(region: str) -> tuple[str, str]:
    """``(AWS::Partition, AWS::URLSuffix)`` for ``region``."""
    for prefix, partition in _PARTITIONS.items():
        if region.startswith(prefix):
            return partition
    return ("aws", "amazonaws.com")


@dataclass(frozen=True)
class _Names:
    """Name and id makers for one stack in one region and account."""

    stack_name: str
    region: str
    account: str

    def _digest(self, logical_id: str, salt: str = "") -> bytes:
        return hashlib.sha256(f"{self.stack_name}/{logical_id}/{salt}".encode()).digest()

    def generated(self, logical_id: str, max_length: int = 64, lower: bool = False) -> str:
        """``{stack}-{logicalid}-{SUFFIX}`` as CloudFormation names resources, truncated to fit."""
        suffix = base64.b32encode(self._digest(logical_id)).decode()[:13]
        head = f"{self.stack_name}-{logical_id}"[: max_length - len(suffix) - 1]
        name = f"{head}-{suffix}"
        return name.lower() if lower else name

    def hex_id(self, prefix: str, logical_id: str, salt: str = "") -> str:
        """An EC2/EFS-style id: ``{prefix}-`` and 17 hex digits."""
        return f"{prefix}-{self._digest(logical_id, salt or prefix).hex()[:17]}"

    def uuid(self, logical_id: str) -> str:
        """A UUID (KMS key id style)."""
        return str(uuid.UUID(bytes=self._digest(logical_id, "uuid")[:16]))

    def upper_id(self, prefix: str, logical_id: str) -> str:
        """An IAM unique id: ``{prefix}`` and 17 upper-case characters."""
        return prefix + base64.b32encode(self._digest(logical_id, prefix)).decode()[:17]

    def arn(
        self, service: str, resource: str, *, regional: bool = True, in_account: bool = True
    ) -> str:
        """An ARN in this stack's region (unless global) and account (unless S3)."""
        partition = partition_of(self.region)[0]
        region = self.region if regional else ""
        account = self.account if in_account else ""
        return f"arn:{partition}:{service}:{region}:{account}:{resource}"

    def ip_address(self, logical_id: str) -> str:
        """A private IPv4 address in 10.0.0.0/16."""
        third, fourth = self._digest(logical_id, "ip")[:2]
        return f"10.0.{third}.{max(fourth, 4)}"

    @property
    def url_suffix(self) -> str:
        """``AWS::URLSuffix``."""
        return partition_of(self.region)[1]


_TypeNamer = Callable[[_Names, str, dict[str, Any]], tuple[str, dict[str, Any]]]


def _s3_bucket(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    bucket = properties.get("BucketName") or names.generated(logical_id, 63, lower=True)
    region, suffix = names.region, names.url_suffix
    return bucket, {
        "Arn": names.arn("s3", bucket, regional=False, in_account=False),
        "DomainName": f"{bucket}.s3.{suffix}",
        "DualStackDomainName": f"{bucket}.s3.dualstack.{region}.{suffix}",
        "RegionalDomainName": f"{bucket}.s3.{region}.{suffix}",
        "WebsiteURL": f"http://{bucket}.s3-website-{region}.{suffix}",
    }


def _arn_ref(
    service: str,
    kind: str,
    name_property: str,
    arn_attribute: str,
    *,
    sep: str = "/",
    revision: str = "",
    max_length: int = 128,
) -> _TypeNamer:
    """Types whose Ref is their ARN ``{kind}{sep}{name}{revision}`` (Batch, Step Functions)."""

    def namer(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
        name = properties.get(name_property) or names.generated(logical_id, max_length)
        arn = names.arn(service, f"{kind}{sep}{name}{revision}")
        return arn, {arn_attribute: arn}

    return namer


def _state_machine(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    name = properties.get("StateMachineName") or names.generated(logical_id, 80)
    arn = names.arn("states", f"stateMachine:{name}")
    return arn, {"Arn": arn, "Name": name}


def _name_ref(
    service: str,
    kind: str,
    name_property: str,
    *,
    sep: str = "/",
    tail: str = "",
    max_length: int = 64,
    extra: str = "",
) -> _TypeNamer:
    """Types whose Ref is their name and whose ``Arn`` is ``{kind}{sep}{name}{tail}``;
    ``extra`` names one more attribute that equals the name."""

    def namer(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
        name = properties.get(name_property) or names.generated(logical_id, max_length)
        attributes = {"Arn": names.arn(service, f"{kind}{sep}{name}{tail}")}
        if extra:
            attributes[extra] = name
        return name, attributes

    return namer


def _iam_role(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    name = properties.get("RoleName") or names.generated(logical_id, 64)
    path = properties.get("Path", "/")
    return name, {
        "Arn": names.arn("iam", f"role{path}{name}", regional=False),
        "RoleId": names.upper_id("AROA", logical_id),
    }


def _iam_managed_policy(
    names: _Names, logical_id: str, properties: dict[str, Any]
) -> tuple[str, dict]:
    name = properties.get("ManagedPolicyName") or names.generated(logical_id, 128)
    arn = names.arn("iam", f"policy{properties.get('Path', '/')}{name}", regional=False)
    return arn, {"PolicyArn": arn, "PolicyId": names.upper_id("ANPA", logical_id)}


def _iam_instance_profile(
    names: _Names, logical_id: str, properties: dict[str, Any]
) -> tuple[str, dict]:
    name = properties.get("InstanceProfileName") or names.generated(logical_id, 128)
    path = properties.get("Path", "/")
    return name, {"Arn": names.arn("iam", f"instance-profile{path}{name}", regional=False)}


def _ecr_repository(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    name = properties.get("RepositoryName") or names.generated(logical_id, 256, lower=True)
    host = f"{names.account}.dkr.ecr.{names.region}.{names.url_suffix}"
    return name, {
        "Arn": names.arn("ecr", f"repository/{name}"),
        "RepositoryUri": f"{host}/{name}",
    }


def _kms_key(names: _Names, logical_id: str, _: dict[str, Any]) -> tuple[str, dict]:
    key_id = names.uuid(logical_id)
    return key_id, {"Arn": names.arn("kms", f"key/{key_id}"), "KeyId": key_id}


def _schedule(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    name = properties.get("Name") or names.generated(logical_id, 64)
    group = properties.get("GroupName", "default")
    return name, {"Arn": names.arn("scheduler", f"schedule/{group}/{name}")}


def _sns_topic(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    name = properties.get("TopicName") or names.generated(logical_id, 256)
    arn = names.arn("sns", name)
    return arn, {"TopicArn": arn, "TopicName": name}


def _sqs_queue(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    name = properties.get("QueueName") or names.generated(logical_id, 80)
    url = f"https://sqs.{names.region}.{names.url_suffix}/{names.account}/{name}"
    return url, {"Arn": names.arn("sqs", name), "QueueName": name, "QueueUrl": url}


def _efs(kind: str, prefix: str, id_attribute: str) -> _TypeNamer:
    """EFS file systems and access points: ``fs-…`` / ``fsap-…`` ids and their ARN."""

    def namer(names: _Names, logical_id: str, _: dict[str, Any]) -> tuple[str, dict]:
        resource_id = names.hex_id(prefix, logical_id)
        arn = names.arn("elasticfilesystem", f"{kind}/{resource_id}")
        return resource_id, {id_attribute: resource_id, "Arn": arn}

    return namer


def _ec2_id(prefix: str, *id_attributes: str, echo: tuple[str, ...] = ()) -> _TypeNamer:
    """EC2-style resources whose Ref is ``{prefix}-<hex>``; ``id_attributes`` equal the id
    and ``echo`` names properties returned as attributes of the same name."""

    def namer(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
        resource_id = names.hex_id(prefix, logical_id)
        attributes: dict[str, Any] = dict.fromkeys(id_attributes, resource_id)
        attributes.update({key: properties[key] for key in echo if key in properties})
        return resource_id, attributes

    return namer


def _vpc(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    vpc_id, attributes = _ec2_id(
        "vpc", "VpcId", echo=("CidrBlock", "EnableDnsHostnames", "EnableDnsSupport")
    )(names, logical_id, properties)
    attributes |= {
        "CidrBlockAssociations": [names.hex_id("vpc-cidr-assoc", logical_id)],
        "DefaultNetworkAcl": names.hex_id("acl", logical_id),
        "DefaultSecurityGroup": names.hex_id("sg", logical_id, "default"),
        "Ipv6CidrBlocks": [],
    }
    return vpc_id, attributes


def _subnet(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    subnet_id, attributes = _ec2_id(
        "subnet", "SubnetId", echo=("CidrBlock", "VpcId", "MapPublicIpOnLaunch")
    )(names, logical_id, properties)
    attributes |= {
        "AvailabilityZone": properties.get("AvailabilityZone", f"{names.region}a"),
        "NetworkAclAssociationId": names.hex_id("aclassoc", logical_id),
        "Ipv6CidrBlocks": [],
    }
    return subnet_id, attributes


def _security_group(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    group_id, attributes = _ec2_id("sg", "GroupId", "Id", echo=("VpcId", "GroupDescription"))(
        names, logical_id, properties
    )
    attributes["GroupName"] = properties.get("GroupName") or names.generated(logical_id, 255)
    return group_id, attributes


def _vpc_endpoint(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    endpoint_id = names.hex_id("vpce", logical_id)
    interface = properties.get("VpcEndpointType", "Gateway") == "Interface"
    service = str(properties.get("ServiceName", "")).rsplit(".", 1)[-1]
    dns = f"{endpoint_id}.{service}.{names.region}.vpce.{names.url_suffix}"
    subnets = properties.get("SubnetIds", []) if interface else []
    return endpoint_id, {
        "Id": endpoint_id,
        "CreationTimestamp": "1970-01-01T00:00:00.000Z",
        "DnsEntries": [f"{names.upper_id('Z', logical_id)}:{dns}"] if interface else [],
        "NetworkInterfaceIds": [names.hex_id("eni", logical_id, str(subnet)) for subnet in subnets],
    }


def _mount_target(names: _Names, logical_id: str, properties: dict[str, Any]) -> tuple[str, dict]:
    target_id, attributes = _ec2_id("fsmt", "Id", echo=("FileSystemId", "SubnetId"))(
        names, logical_id, properties
    )
    attributes["IpAddress"] = names.ip_address(logical_id)
    return target_id, attributes


def _named(*attributes: str) -> _TypeNamer:
    """Types whose Ref is a generated name that ``attributes`` also return."""

    def namer(names: _Names, logical_id: str, _: dict[str, Any]) -> tuple[str, dict]:
        name = names.generated(logical_id)
        return name, dict.fromkeys(attributes, name)

    return namer


def _generic(names: _Names, logical_id: str, resource_type: str) -> tuple[str, dict]:
    """Any other type: a generated name and an ``Arn`` in the type's service."""
    name = names.generated(logical_id)
    parts = resource_type.split("::")
    service = parts[1].lower() if len(parts) > 1 else "cloudformation"
    kind = parts[-1].lower()
    return name, {"Arn": names.arn(service, f"{kind}/{name}")}


NAMERS: dict[str, _TypeNamer] = {
    "AWS::S3::Bucket": _s3_bucket,
    "AWS::Batch::ComputeEnvironment": _arn_ref(
        "batch", "compute-environment", "ComputeEnvironmentName", "ComputeEnvironmentArn"
    ),
    "AWS::Batch::JobQueue": _arn_ref("batch", "job-queue", "JobQueueName", "JobQueueArn"),
    "AWS::Batch::JobDefinition": _arn_ref(
        "batch", "job-definition", "JobDefinitionName", "JobDefinitionArn", revision=":1"
    ),
    "AWS::Batch::SchedulingPolicy": _arn_ref("batch", "scheduling-policy", "Name", "Arn"),
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::Lambda::Function": _name_ref("lambda", "function", "FunctionName", sep=":"),
    "AWS::Logs::LogGroup": _name_ref(
        "logs", "log-group", "LogGroupName", sep=":", tail=":*", max_length=512
    ),
    "AWS::Events::Rule": _name_ref("events", "rule", "Name", extra="RuleName"),
    "AWS::CodeBuild::Project": _name_ref("codebuild", "project", "Name", max_length=150),
    "AWS::Scheduler::Schedule": _schedule,
    "AWS::IAM::Role": _iam_role,
    "AWS::IAM::ManagedPolicy": _iam_managed_policy,
    "AWS::IAM::InstanceProfile": _iam_instance_profile,
    "AWS::ECR::Repository": _ecr_repository,
    "AWS::KMS::Key": _kms_key,
    "AWS::SNS::Topic": _sns_topic,
    "AWS::SQS::Queue": _sqs_queue,
    "AWS::EFS::FileSystem": _efs("file-system", "fs", "FileSystemId"),
    "AWS::EFS::AccessPoint": _efs("access-point", "fsap", "AccessPointId"),
    "AWS::EFS::MountTarget": _mount_target,
    "AWS::EC2::VPC": _vpc,
    "AWS::EC2::Subnet": _subnet,
    "AWS::EC2::SecurityGroup": _security_group,
    "AWS::EC2::VPCEndpoint": _vpc_endpoint,
    "AWS::EC2::SecurityGroupIngress": _ec2_id("sgr", "Id"),
    "AWS::EC2::SecurityGroupEgress": _ec2_id("sgr", "Id"),
    "AWS::EC2::RouteTable": _ec2_id("rtb", "RouteTableId"),
    "AWS::EC2::SubnetRouteTableAssociation": _ec2_id("rtbassoc", "Id"),
    "AWS::EC2::InternetGateway": _ec2_id("igw", "InternetGatewayId"),
    "AWS::EC2::NatGateway": _ec2_id("nat", "NatGatewayId"),
    "AWS::EC2::NetworkAcl": _ec2_id("acl", "Id"),
    "AWS::EC2::NetworkInterface": _ec2_id("eni", "Id", echo=("VpcId",)),
    "AWS::Lambda::Permission": _named("Id"),
    "AWS::IAM::Policy": _named("Id"),
}
"""Resource type → how its physical id and attributes look on AWS."""


def default_namer(
    stack_name: str, *, region: str = "us-east-1", account: str = "000000000000"
) -> Namer:
    """A namer giving AWS-like physical ids and attributes (bucket names, Batch ARNs,
    ``fs-…`` ids ...) for ``stack_name``; the same logical id always gets the same names."""
    names = _Names(stack_name, region, account)

    def namer(
        logical_id: str, resource_type: str, properties: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        type_namer = NAMERS.get(resource_type)
        if type_namer is None:
            return _generic(names, logical_id, resource_type)
        return type_namer(names, logical_id, properties)

    return namer
