"""A pipeline-shaped template (network switch, EFS, Batch, Lambda, state machine) resolved
end to end: what the local deploy reads from every resource."""

from __future__ import annotations

import json

import pytest

from pipeline.local.cloudformation.template import (
    ResolvedStack,
    TemplateError,
    load_template,
    resolve_stack,
)

PIPELINE = """
AWSTemplateFormatVersion: "2010-09-09"
Description: n2n pipeline
Parameters:
  VpcId: {Type: String, Default: ""}
  SubnetIds: {Type: CommaDelimitedList, Default: ""}
  RetainData: {Type: String, Default: Delete, AllowedValues: [Retain, Delete]}
  CodeS3Bucket: {Type: String}
  CodeS3Key: {Type: String}
  WorkerImageUri: {Type: String}
  JobVcpus: {Type: Number, Default: 0.25, AllowedValues: [0.25, 0.5, 1, 2, 4]}
  MaxVcpus: {Type: Number, Default: 256, MinValue: 1}
Conditions:
  CreateVpc: !Equals [!Ref VpcId, ""]
  Retain: !Equals [!Ref RetainData, Retain]
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Condition: CreateVpc
    Properties: {CidrBlock: 10.0.0.0/16, EnableDnsSupport: true, EnableDnsHostnames: true}
  SubnetA:
    Type: AWS::EC2::Subnet
    Condition: CreateVpc
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: !Select [0, !Cidr [!GetAtt Vpc.CidrBlock, 2, 8]]
      AvailabilityZone: !Select [0, !GetAZs ""]
  SubnetB:
    Type: AWS::EC2::Subnet
    Condition: CreateVpc
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: !Select [1, !Cidr [!GetAtt Vpc.CidrBlock, 2, 8]]
      AvailabilityZone: !Select [1, !GetAZs ""]
  BatchSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: batch
      VpcId: !If [CreateVpc, !Ref Vpc, !Ref VpcId]
  EfsSecurityGroup:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: efs
      VpcId: !If [CreateVpc, !Ref Vpc, !Ref VpcId]
      SecurityGroupIngress:
        - {IpProtocol: tcp, FromPort: 2049, ToPort: 2049, Description: nfs,
           SourceSecurityGroupId: !Ref BatchSecurityGroup}
  S3Endpoint:
    Type: AWS::EC2::VPCEndpoint
    Condition: CreateVpc
    Properties:
      VpcId: !Ref Vpc
      ServiceName: !Sub com.amazonaws.${AWS::Region}.s3
      VpcEndpointType: Gateway
  FileSystem:
    Type: AWS::EFS::FileSystem
    DeletionPolicy: Delete
    Properties: {Encrypted: true}
  MountTargetA:
    Type: AWS::EFS::MountTarget
    Properties:
      FileSystemId: !Ref FileSystem
      SubnetId: !Select [0, !If [CreateVpc, [!Ref SubnetA, !Ref SubnetB], !Ref SubnetIds]]
      SecurityGroups: [!Ref EfsSecurityGroup]
  AccessPoint:
    Type: AWS::EFS::AccessPoint
    Properties:
      FileSystemId: !Ref FileSystem
      PosixUser: {Uid: "1000", Gid: "1000"}
  EgressBucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    UpdateReplacePolicy: Retain
  EgressBucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref EgressBucket
      PolicyDocument:
        Statement:
          - Effect: Deny
            Principal: "*"
            Action: "s3:*"
            Resource: [!GetAtt EgressBucket.Arn, !Sub "${EgressBucket.Arn}/*"]
            Condition: {Bool: {"aws:SecureTransport": "false"}}
  LogGroup:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: !Sub "/n2n/${AWS::StackName}/batch", RetentionInDays: 30}
  JobRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: ecs-tasks.amazonaws.com}, Action: sts:AssumeRole}
  ComputeEnvironment:
    Type: AWS::Batch::ComputeEnvironment
    Properties:
      Type: MANAGED
      ComputeResources:
        Type: FARGATE
        MaxvCpus: !Ref MaxVcpus
        Subnets: !If [CreateVpc, [!Ref SubnetA, !Ref SubnetB], !Ref SubnetIds]
        SecurityGroupIds: [!Ref BatchSecurityGroup]
  ProcureQueue:
    Type: AWS::Batch::JobQueue
    Properties:
      Priority: 1
      ComputeEnvironmentOrder: [{Order: 1, ComputeEnvironment: !Ref ComputeEnvironment}]
  ProcureJobDefinition:
    Type: AWS::Batch::JobDefinition
    Properties:
      Type: container
      PlatformCapabilities: [FARGATE]
      RetryStrategy:
        Attempts: 3
        EvaluateOnExit: [{OnExitCode: "75", Action: RETRY}, {OnReason: "*", Action: EXIT}]
      ContainerProperties:
        Image: !Ref WorkerImageUri
        Command: [procure]
        JobRoleArn: !GetAtt JobRole.Arn
        ResourceRequirements: [{Type: VCPU, Value: !Ref JobVcpus}, {Type: MEMORY, Value: "2048"}]
        Environment:
          - {Name: EFS_MOUNT, Value: /mnt/efs}
          - {Name: EGRESS_URL, Value: !Sub "s3://${EgressBucket}/"}
        Volumes:
          - Name: efs
            EfsVolumeConfiguration:
              FileSystemId: !Ref FileSystem
              TransitEncryption: ENABLED
              AuthorizationConfig: {AccessPointId: !Ref AccessPoint, Iam: ENABLED}
        MountPoints: [{SourceVolume: efs, ContainerPath: /mnt/efs}]
        LogConfiguration:
          LogDriver: awslogs
          Options: {awslogs-group: !Ref LogGroup, awslogs-region: !Ref AWS::Region}
  PrepareFunction:
    Type: AWS::Lambda::Function
    DependsOn: MountTargetA
    Properties:
      Runtime: python3.12
      Handler: pipeline.handlers.prepare.handler
      Role: !GetAtt JobRole.Arn
      Code: {S3Bucket: !Ref CodeS3Bucket, S3Key: !Ref CodeS3Key}
      FileSystemConfigs: [{Arn: !GetAtt AccessPoint.Arn, LocalMountPath: /mnt/efs}]
      VpcConfig:
        SubnetIds: !If [CreateVpc, [!Ref SubnetA, !Ref SubnetB], !Ref SubnetIds]
        SecurityGroupIds: [!Ref BatchSecurityGroup]
  PipelineStateMachine:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt JobRole.Arn
      DefinitionString: !Sub |
        {"StartAt": "Prepare", "States": {"Prepare": {"Type": "Task",
         "Resource": "arn:${AWS::Partition}:states:::lambda:invoke",
         "Parameters": {"FunctionName": "${PrepareFunction.Arn}", "Payload.$": "$"},
         "Next": "Done"}, "Done": {"Type": "Succeed"}}}
      DefinitionSubstitutions:
        ProcureQueue: !Ref ProcureQueue
        ProcureJobDefinition: !Ref ProcureJobDefinition
Outputs:
  StateMachineArn: {Value: !Ref PipelineStateMachine}
  EgressBucketName: {Value: !Ref EgressBucket}
  FileSystemId: {Value: !Ref FileSystem}
  AccessPointId: {Value: !GetAtt AccessPoint.AccessPointId}
  ProcureJobQueueArn: {Value: !GetAtt ProcureQueue.JobQueueArn}
  ProcureJobDefinitionArn: {Value: !Ref ProcureJobDefinition}
  LogGroupName: {Value: !Ref LogGroup}
  Subnets: {Value: !Join [",", !If [CreateVpc, [!Ref SubnetA, !Ref SubnetB], !Ref SubnetIds]]}
"""
REQUIRED = {"CodeS3Bucket": "artifacts", "CodeS3Key": "code.zip", "WorkerImageUri": "worker:1"}


def _resolve(**overrides: str) -> ResolvedStack:
    return resolve_stack(load_template(PIPELINE), "n2n", {**REQUIRED, **overrides})


def test_new_network_when_no_vpc_is_given():
    stack = _resolve()
    assert stack.conditions == {"CreateVpc": True, "Retain": False}
    subnets = [stack.resources[name].physical_id for name in ("SubnetA", "SubnetB")]
    assert stack.resources["SubnetA"].properties["CidrBlock"] == "10.0.0.0/24"
    assert stack.resources["SubnetB"].properties["AvailabilityZone"] == "us-east-1b"
    compute = stack.resources["ComputeEnvironment"].properties["ComputeResources"]
    assert compute["Subnets"] == subnets
    assert compute["MaxvCpus"] == "256"
    assert stack.outputs["Subnets"] == ",".join(subnets)
    assert stack.resources["BatchSecurityGroup"].properties["VpcId"] == (
        stack.resources["Vpc"].physical_id
    )


def test_existing_network_drops_the_vpc_resources():
    stack = _resolve(VpcId="vpc-0abc", SubnetIds="subnet-a, subnet-b")
    assert not {"Vpc", "SubnetA", "SubnetB", "S3Endpoint"} & set(stack.resources)
    assert stack.resources["MountTargetA"].properties["SubnetId"] == "subnet-a"
    assert stack.resources["PrepareFunction"].properties["VpcConfig"]["SubnetIds"] == [
        "subnet-a",
        "subnet-b",
    ]
    assert stack.outputs["Subnets"] == "subnet-a,subnet-b"


def test_job_definition_is_fully_resolved():
    stack = _resolve()
    container = stack.resources["ProcureJobDefinition"].properties["ContainerProperties"]
    volume = container["Volumes"][0]["EfsVolumeConfiguration"]
    assert volume["FileSystemId"] == stack.resources["FileSystem"].physical_id
    assert volume["AuthorizationConfig"]["AccessPointId"] == (
        stack.resources["AccessPoint"].physical_id
    )
    assert container["ResourceRequirements"][0] == {"Type": "VCPU", "Value": "0.25"}
    assert container["JobRoleArn"] == stack.resources["JobRole"].attributes["Arn"]
    assert {"Name": "EGRESS_URL", "Value": f"s3://{stack.outputs['EgressBucketName']}/"} in (
        container["Environment"]
    )
    assert container["LogConfiguration"]["Options"] == {
        "awslogs-group": "/n2n/n2n/batch",
        "awslogs-region": "us-east-1",
    }


def test_state_machine_definition_and_substitutions():
    stack = _resolve()
    machine = stack.resources["PipelineStateMachine"].properties
    definition = json.loads(machine["DefinitionString"])
    function_arn = stack.resources["PrepareFunction"].attributes["Arn"]
    assert definition["States"]["Prepare"]["Parameters"]["FunctionName"] == function_arn
    assert definition["States"]["Prepare"]["Resource"] == "arn:aws:states:::lambda:invoke"
    assert machine["DefinitionSubstitutions"] == {
        "ProcureQueue": stack.outputs["ProcureJobQueueArn"],
        "ProcureJobDefinition": stack.outputs["ProcureJobDefinitionArn"],
    }
    assert stack.outputs["StateMachineArn"] == stack.resources["PipelineStateMachine"].physical_id


def test_dependency_order_puts_mount_targets_before_the_lambda():
    order = list(_resolve().resources)
    assert order.index("MountTargetA") < order.index("PrepareFunction")
    assert order.index("PrepareFunction") < order.index("PipelineStateMachine")
    assert order.index("ProcureQueue") < order.index("PipelineStateMachine")


def test_bucket_policy_keeps_iam_conditions_and_retains_data():
    stack = _resolve()
    statement = stack.resources["EgressBucketPolicy"].properties["PolicyDocument"]["Statement"][0]
    arn = stack.resources["EgressBucket"].attributes["Arn"]
    assert statement["Resource"] == [arn, f"{arn}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert stack.resources["EgressBucket"].deletion_policy == "Retain"


def test_bad_parameter_value_fails_before_any_resource():
    with pytest.raises(TemplateError) as raised:
        _resolve(JobVcpus="3")
    assert str(raised.value) == "Parameter JobVcpus must be one of 0.25, 0.5, 1, 2, 4: got 3."
