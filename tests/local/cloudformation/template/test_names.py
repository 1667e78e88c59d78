"""default_namer: AWS-shaped physical ids and attributes, only attributes AWS documents."""

from __future__ import annotations

import re

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from pipeline.local.cloudformation.template import default_namer, load_template, resolve_stack
from pipeline.local.cloudformation.template.names import NAMERS

REGION, ACCOUNT = "eu-west-1", "123456789012"
NAMER = default_namer("n2n", region=REGION, account=ACCOUNT)


@pytest.mark.parametrize("resource_type", sorted(NAMERS))
def test_attributes_are_ones_cloudformation_documents(resource_type):
    """Every attribute the namer offers is a real Fn::GetAtt attribute of the type (from the
    resource schemas cfn-lint ships), so a template that works locally works on AWS."""
    _, attributes = NAMER("Thing", resource_type, {})
    documented = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).get_atts
    assert set(attributes) <= set(documented)


@pytest.mark.parametrize(
    ("resource_type", "properties", "physical_id", "attributes"),
    [
        (
            "AWS::S3::Bucket",
            {"BucketName": "egress"},
            "egress",
            {
                "Arn": "arn:aws:s3:::egress",
                "DomainName": "egress.s3.amazonaws.com",
                "RegionalDomainName": "egress.s3.eu-west-1.amazonaws.com",
            },
        ),
        (
            "AWS::Batch::JobQueue",
            {"JobQueueName": "procure"},
            "arn:aws:batch:eu-west-1:123456789012:job-queue/procure",
            {"JobQueueArn": "arn:aws:batch:eu-west-1:123456789012:job-queue/procure"},
        ),
        (
            "AWS::Batch::JobDefinition",
            {"JobDefinitionName": "procure"},
            "arn:aws:batch:eu-west-1:123456789012:job-definition/procure:1",
            {"JobDefinitionArn": "arn:aws:batch:eu-west-1:123456789012:job-definition/procure:1"},
        ),
        (
            "AWS::Batch::ComputeEnvironment",
            {"ComputeEnvironmentName": "fargate"},
            "arn:aws:batch:eu-west-1:123456789012:compute-environment/fargate",
            {},
        ),
        (
            "AWS::Lambda::Function",
            {"FunctionName": "prepare"},
            "prepare",
            {"Arn": "arn:aws:lambda:eu-west-1:123456789012:function:prepare"},
        ),
        (
            "AWS::StepFunctions::StateMachine",
            {"StateMachineName": "pipeline"},
            "arn:aws:states:eu-west-1:123456789012:stateMachine:pipeline",
            {"Name": "pipeline"},
        ),
        (
            "AWS::Logs::LogGroup",
            {"LogGroupName": "/n2n/batch"},
            "/n2n/batch",
            {"Arn": "arn:aws:logs:eu-west-1:123456789012:log-group:/n2n/batch:*"},
        ),
        (
            "AWS::IAM::Role",
            {"RoleName": "worker", "Path": "/n2n/"},
            "worker",
            {"Arn": "arn:aws:iam::123456789012:role/n2n/worker"},
        ),
        (
            "AWS::ECR::Repository",
            {"RepositoryName": "worker"},
            "worker",
            {"RepositoryUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker"},
        ),
        (
            "AWS::EC2::Subnet",
            {"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "eu-west-1b"},
            None,
            {"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "eu-west-1b"},
        ),
        (
            "AWS::EC2::SecurityGroup",
            {"VpcId": "vpc-1", "GroupDescription": "batch"},
            None,
            {"VpcId": "vpc-1", "GroupDescription": "batch"},
        ),
        (
            "AWS::Scheduler::Schedule",
            {"Name": "nightly"},
            "nightly",
            {"Arn": "arn:aws:scheduler:eu-west-1:123456789012:schedule/default/nightly"},
        ),
    ],
)
def test_explicit_names_are_kept(resource_type, properties, physical_id, attributes):
    got_id, got_attributes = NAMER("Thing", resource_type, properties)
    if physical_id is not None:
        assert got_id == physical_id
    assert got_attributes.items() >= attributes.items()


@pytest.mark.parametrize(
    ("resource_type", "pattern", "id_attribute"),
    [
        ("AWS::EFS::FileSystem", r"fs-[0-9a-f]{17}", "FileSystemId"),
        ("AWS::EFS::AccessPoint", r"fsap-[0-9a-f]{17}", "AccessPointId"),
        ("AWS::EFS::MountTarget", r"fsmt-[0-9a-f]{17}", "Id"),
        ("AWS::EC2::VPC", r"vpc-[0-9a-f]{17}", "VpcId"),
        ("AWS::EC2::Subnet", r"subnet-[0-9a-f]{17}", "SubnetId"),
        ("AWS::EC2::SecurityGroup", r"sg-[0-9a-f]{17}", "GroupId"),
        ("AWS::EC2::VPCEndpoint", r"vpce-[0-9a-f]{17}", "Id"),
        ("AWS::EC2::RouteTable", r"rtb-[0-9a-f]{17}", "RouteTableId"),
        ("AWS::KMS::Key", r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", "KeyId"),
    ],
)
def test_generated_ids_look_like_aws_ids(resource_type, pattern, id_attribute):
    physical_id, attributes = NAMER("Thing", resource_type, {})
    assert re.fullmatch(pattern, physical_id)
    assert attributes[id_attribute] == physical_id


def test_efs_arns():
    file_system, attributes = NAMER("FileSystem", "AWS::EFS::FileSystem", {})
    assert attributes["Arn"] == (
        f"arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/{file_system}"
    )
    access_point, attributes = NAMER("AccessPoint", "AWS::EFS::AccessPoint", {})
    assert attributes["Arn"] == (
        f"arn:aws:elasticfilesystem:eu-west-1:123456789012:access-point/{access_point}"
    )


def test_generated_names_follow_cloudformation_and_fit_the_limits():
    name, _ = NAMER("PrepareFunction", "AWS::Lambda::Function", {})
    assert re.fullmatch(r"n2n-PrepareFunction-[A-Z2-7]{13}", name)
    bucket, _ = default_namer("My-Stack")("EgressBucket", "AWS::S3::Bucket", {})
    assert re.fullmatch(r"my-stack-egressbucket-[a-z2-7]{13}", bucket)
    long_stack = default_namer("S" * 120)
    assert len(long_stack("L" * 200, "AWS::S3::Bucket", {})[0]) == 63
    assert len(long_stack("L" * 200, "AWS::Lambda::Function", {})[0]) == 64
    assert (
        len(long_stack("L" * 200, "AWS::StepFunctions::StateMachine", {})[0].split(":")[-1]) == 80
    )


def test_names_depend_only_on_stack_and_logical_id():
    first = NAMER("Queue", "AWS::Batch::JobQueue", {"Priority": 1})
    assert NAMER("Queue", "AWS::Batch::JobQueue", {"Priority": 2}) == first
    assert (
        default_namer("n2n", region=REGION, account=ACCOUNT)("Queue", "AWS::Batch::JobQueue", {})
        == first
    )
    assert default_namer("other")("Queue", "AWS::Batch::JobQueue", {})[0] != first[0]
    assert NAMER("Queue2", "AWS::Batch::JobQueue", {})[0] != first[0]


def test_interface_endpoints_have_dns_entries_and_network_interfaces():
    _, interface = NAMER(
        "LogsEndpoint",
        "AWS::EC2::VPCEndpoint",
        {
            "VpcEndpointType": "Interface",
            "ServiceName": "com.amazonaws.eu-west-1.logs",
            "SubnetIds": ["subnet-a", "subnet-b"],
        },
    )
    assert len(interface["NetworkInterfaceIds"]) == 2
    assert interface["DnsEntries"][0].endswith(".logs.eu-west-1.vpce.amazonaws.com")
    _, gateway = NAMER("S3Endpoint", "AWS::EC2::VPCEndpoint", {"ServiceName": "com.amazonaws.s3"})
    assert (gateway["DnsEntries"], gateway["NetworkInterfaceIds"]) == ([], [])


def test_other_types_get_a_generated_name_and_an_arn():
    physical_id, attributes = NAMER("Alarm", "AWS::CloudWatch::Alarm", {})
    assert re.fullmatch(r"n2n-Alarm-[A-Z2-7]{13}", physical_id)
    assert attributes == {"Arn": f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm/{physical_id}"}


def test_partitions_follow_the_region():
    _, attributes = default_namer("n2n", region="cn-north-1")("B", "AWS::S3::Bucket", {})
    assert attributes["Arn"].startswith("arn:aws-cn:s3:::")
    assert attributes["DomainName"].endswith(".s3.amazonaws.com.cn")


def test_default_namer_is_what_resolve_stack_uses():
    template = load_template("Resources:\n  FileSystem: {Type: AWS::EFS::FileSystem}\n")
    stack = resolve_stack(template, "n2n", {}, region=REGION, account=ACCOUNT)
    assert (
        stack.resources["FileSystem"].physical_id
        == NAMER("FileSystem", "AWS::EFS::FileSystem", {})[0]
    )
