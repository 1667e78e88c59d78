"""A pipeline that is not this kit's, for the "bring your own runs" tests: its own template
(one compute environment and queue, two job definitions running a shell command, a state
machine that starts with a Pass and submits two array jobs with ``.sync``), deployed on the
local backend through its cloudformation client, as a user's own stack would be."""

from __future__ import annotations

import json
import time

import yaml

ARRAY_SIZE = 4
# A records-like line that is not the kit worker's n2n.step line: the analysis must not
# take it for worker data.
COMMAND = ["sh", "-c", 'echo "{\\"records\\": 7, \\"index\\": $AWS_BATCH_JOB_ARRAY_INDEX}"']


def _job_definition(name: str) -> dict:
    return {
        "Type": "AWS::Batch::JobDefinition",
        "Properties": {
            "JobDefinitionName": name,
            "Type": "container",
            "PlatformCapabilities": ["FARGATE"],
            "ContainerProperties": {
                "Image": "public.ecr.aws/docker/library/busybox:latest",
                "Command": COMMAND,
                "ExecutionRoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                "ResourceRequirements": [
                    {"Type": "VCPU", "Value": "0.5"},
                    {"Type": "MEMORY", "Value": "1024"},
                ],
                "LogConfiguration": {
                    "LogDriver": "awslogs",
                    "Options": {"awslogs-group": {"Ref": "Logs"}},
                },
            },
        },
    }


def _submit(job_name: str, definition: str, **more: object) -> dict:
    """A Task submitting an array job of ``definition`` to the queue and waiting for it."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {
            "JobName": job_name,
            "JobQueue": "${Queue}",
            "JobDefinition": "${" + definition + "}",
            **more,
        },
    }


DEFINITION = {
    "Comment": "Nightly ETL: two array jobs, each waited for.",
    "StartAt": "Configure",
    "States": {
        "Configure": {
            "Type": "Pass",
            "Result": {"size": ARRAY_SIZE},
            "ResultPath": "$.config",
            "Next": "Extract everything",
        },
        "Extract everything": {
            **_submit("nightly-extract", "Extract", ArrayProperties={"Size.$": "$.config.size"}),
            "ResultSelector": {"id.$": "$.JobId"},
            "ResultPath": "$.extracted",
            "Next": "Load it",
        },
        "Load it": {
            **_submit(
                "nightly-load",
                "Load",
                ArrayProperties={"Size.$": "$.config.size"},
                DependsOn=[{"JobId.$": "$.extracted.id", "Type": "N_TO_N"}],
            ),
            "End": True,
        },
    },
}

BROKEN = {
    "StartAt": "Extract",
    "States": {
        "Extract": {
            **_submit(
                "nightly-extract",
                "Extract",
                ArrayProperties={"Size": 2},
                ContainerOverrides={"Command": ["sh", "-c", "exit 3"]},
            ),
            "End": True,
        }
    },
}
"""A state machine whose one ``.sync`` job fails: its Task fails with the job as the cause."""


def _machine(definition: dict) -> dict:
    return {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "DefinitionString": json.dumps(definition),
            "DefinitionSubstitutions": {
                "Queue": {"Ref": "Queue"},
                "Extract": {"Ref": "Extract"},
                "Load": {"Ref": "Load"},
            },
        },
    }


TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
        },
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        "Fleet": {
            "Type": "AWS::Batch::ComputeEnvironment",
            "Properties": {
                "Type": "MANAGED",
                "ComputeResources": {
                    "Type": "FARGATE",
                    "MaxvCpus": 2,
                    "Subnets": ["subnet-1"],
                    "SecurityGroupIds": ["sg-1"],
                },
            },
        },
        "Queue": {
            "Type": "AWS::Batch::JobQueue",
            "Properties": {
                "Priority": 1,
                "ComputeEnvironmentOrder": [{"Order": 1, "ComputeEnvironment": {"Ref": "Fleet"}}],
            },
        },
        "Extract": _job_definition("etl-extract"),
        "Load": _job_definition("etl-load"),
        "Machine": _machine(DEFINITION),
        "BrokenMachine": _machine(BROKEN),
    },
    "Outputs": {
        "MachineArn": {"Value": {"Ref": "Machine"}},
        "BrokenMachineArn": {"Value": {"Ref": "BrokenMachine"}},
        "QueueArn": {"Value": {"Ref": "Queue"}},
        "ExtractArn": {"Value": {"Ref": "Extract"}},
        "LoadArn": {"Value": {"Ref": "Load"}},
    },
}


def deploy_foreign_stack(conn, name: str = "etl") -> dict[str, str]:
    """Create the stack on the local backend; its outputs."""
    conn.cloudformation.create_stack(StackName=name, TemplateBody=yaml.safe_dump(TEMPLATE))
    outputs = conn.cloudformation.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]
    return {o["OutputKey"]: o["OutputValue"] for o in outputs}


def wait_for_execution(conn, arn: str, timeout_s: float = 120) -> dict:
    """The execution's description once it ended; fails with the status seen at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        described = conn.sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"{arn} still RUNNING after {timeout_s} s"
        time.sleep(0.05)
