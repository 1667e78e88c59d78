"""The pipeline template's contract with the code: ids, parameters, job definitions, the
container, the Lambdas and the schedule (the linters run in test_infra_tools.py, the state
machine is checked in test_infra_state_machine.py)."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from pipeline.handlers.prepare import prepare
from pipeline.jobs import STEPS
from pipeline.spec import parse_run_input
from pipeline.worker.exits import FAILURE_EXIT_CODE, RETRYABLE_EXIT_CODE

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "template.yaml"
BOOTSTRAP = ROOT / "infra" / "bootstrap.yaml"
EXAMPLE_PARAMETERS = ROOT / "infra" / "parameters" / "example.json"
DOCKERFILE = ROOT / "containers" / "worker" / "Dockerfile"

CONTRACT_RESOURCES = {
    "ProcureComputeEnvironment": "AWS::Batch::ComputeEnvironment",
    "ProcessComputeEnvironment": "AWS::Batch::ComputeEnvironment",
    "EgressComputeEnvironment": "AWS::Batch::ComputeEnvironment",
    "ProcureJobQueue": "AWS::Batch::JobQueue",
    "ProcessJobQueue": "AWS::Batch::JobQueue",
    "EgressJobQueue": "AWS::Batch::JobQueue",
    "ProcureJobDefinition": "AWS::Batch::JobDefinition",
    "ProcessJobDefinition": "AWS::Batch::JobDefinition",
    "EgressJobDefinition": "AWS::Batch::JobDefinition",
    "PrepareFunction": "AWS::Lambda::Function",
    "WatchFunction": "AWS::Lambda::Function",
    "PipelineStateMachine": "AWS::StepFunctions::StateMachine",
    "EgressBucket": "AWS::S3::Bucket",
    "FileSystem": "AWS::EFS::FileSystem",
    "AccessPoint": "AWS::EFS::AccessPoint",
    "JobLogGroup": "AWS::Logs::LogGroup",
}
CONTRACT_PARAMETERS = [
    *("VpcId", "SubnetIds", "UseFargateSpot", "JobVcpus", "JobMemory", "RetryAttempts"),
    *("ProcureMaxVcpus", "ProcessMaxVcpus", "EgressMaxVcpus", "AttemptDurationSeconds"),
    *("WatchIntervalSeconds", "DefaultIdCount", "DefaultIdsPerNode", "ScheduleExpression"),
    *("ScheduleState", "RetainData", "LogRetentionDays"),
    *("CodeS3Bucket", "CodeS3Key", "WorkerImageUri"),
]
CONTRACT_OUTPUTS = [
    *("StateMachineArn", "EgressBucketName", "FileSystemId", "AccessPointId"),
    *(f"{step.title()}JobQueueArn" for step in STEPS),
    *(f"{step.title()}JobDefinitionArn" for step in STEPS),
    *("JobLogGroupName", "StateMachineLogGroupName"),
]
# The intrinsics the local backend resolves (plus Fn::Base64 nowhere): keep to these.
SUPPORTED_FUNCTIONS = {
    "Ref",
    "Condition",
    "Fn::Sub",
    "Fn::GetAtt",
    "Fn::Join",
    "Fn::If",
    "Fn::Equals",
    "Fn::Not",
    "Fn::And",
    "Fn::Or",
    "Fn::Select",
    "Fn::Split",
    "Fn::GetAZs",
}
# What a Batch evaluateOnExit pattern may hold (AWS Batch API reference).
RETRY_PATTERN = re.compile(r"^[A-Za-z0-9.: \t]{0,511}\*?$")


def load(path: Path) -> dict[str, Any]:
    """A template as plain data, short tags (!Ref ...) turned into their long forms."""
    template, errors = decode(str(path))
    assert not errors, f"{path.name} does not parse: {errors}"
    return json.loads(json.dumps(template))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load(TEMPLATE)


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def job_definitions(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Step name → its job definition's properties."""
    return {step: resources[f"{step.title()}JobDefinition"]["Properties"] for step in STEPS}


def satisfies(declaration: dict[str, Any], value: str) -> bool:
    """Whether ``value`` passes a parameter's AllowedValues / pattern / bounds."""
    if "AllowedValues" in declaration and value not in map(str, declaration["AllowedValues"]):
        return False
    if "AllowedPattern" in declaration and not re.fullmatch(declaration["AllowedPattern"], value):
        return False
    if declaration["Type"] == "Number":
        number = float(value)
        return declaration.get("MinValue", number) <= number <= declaration.get("MaxValue", number)
    return True


def functions_used(node: Any) -> set[str]:
    if isinstance(node, dict):
        used = {key for key in node if key == "Ref" or key.startswith("Fn::")}
        return used.union(*(functions_used(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(functions_used(item) for item in node))
    return set()


def test_contract_resources_have_their_logical_ids(resources: dict[str, Any]):
    assert {name: resources.get(name, {}).get("Type") for name in CONTRACT_RESOURCES} == (
        CONTRACT_RESOURCES
    )


def test_only_supported_intrinsics(template: dict[str, Any]):
    assert template["Transform"] == "AWS::LanguageExtensions"
    used = functions_used(template["Resources"]) | functions_used(template["Outputs"])
    used |= functions_used(template["Conditions"])
    assert used <= SUPPORTED_FUNCTIONS, used - SUPPORTED_FUNCTIONS


def test_parameters_are_constrained_and_their_defaults_valid(template: dict[str, Any]):
    parameters = template["Parameters"]
    assert set(CONTRACT_PARAMETERS) <= set(parameters)
    for name, declaration in parameters.items():
        constraints = {"AllowedValues", "AllowedPattern", "MinValue", "MaxValue"}
        assert constraints & set(declaration), f"{name} has no constraint"
        assert declaration.get("ConstraintDescription"), f"{name} has no ConstraintDescription"
        if "Default" in declaration:
            assert satisfies(declaration, str(declaration["Default"])), name
    assert parameters["VpcId"]["Default"] == parameters["SubnetIds"]["Default"] == ""
    assert parameters["UseFargateSpot"]["Default"] == "false"
    assert parameters["JobVcpus"]["AllowedValues"] == ["0.25", "0.5", "1", "2", "4"]
    assert parameters["JobVcpus"]["Default"] == "1"
    assert parameters["JobMemory"]["Default"] == 2048
    retry = parameters["RetryAttempts"]
    assert (retry["MinValue"], retry["MaxValue"], retry["Default"]) == (1, 10, 3)
    assert parameters["WatchIntervalSeconds"]["Default"] == 30
    assert parameters["ScheduleState"]["Default"] == "DISABLED"
    assert sorted(parameters["RetainData"]["AllowedValues"]) == ["Delete", "Retain"]


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("SubnetIds", "subnet-0123456789abcdef0,subnet-0fedcba9876543210", True),
        ("SubnetIds", "subnet-0123456789abcdef0", False),  # EFS needs two mount targets
        ("SubnetIds", "subnet-0123456789abcdef0, subnet-0fedcba9876543210", False),
        ("VpcId", "vpc-0123456789abcdef0", True),
        ("VpcId", "vpc-xyz", False),
        ("ScheduleExpression", "cron(0 6 * * ? *)", True),
        ("ScheduleExpression", "every day", False),
        ("WorkerImageUri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/n2n-worker:ab12", True),
        ("WorkerImageUri", "python:3.12", False),
        ("JobMemory", "2000", False),
        ("RetryAttempts", "11", False),
    ],
)
def test_parameter_constraints(template: dict[str, Any], name: str, value: str, ok: bool):
    assert satisfies(template["Parameters"][name], value) is ok


def test_example_parameters_fit_the_template(template: dict[str, Any]):
    example = {
        item["ParameterKey"]: item["ParameterValue"]
        for item in json.loads(EXAMPLE_PARAMETERS.read_text())
    }
    parameters = template["Parameters"]
    assert set(example) <= set(parameters)
    required = {name for name, declaration in parameters.items() if "Default" not in declaration}
    assert required <= set(example)
    for name, value in example.items():
        assert satisfies(parameters[name], value), f"{name}={value!r}"


def test_job_definitions_run_the_worker_steps(resources: dict[str, Any]):
    for step, properties in job_definitions(resources).items():
        container = properties["ContainerProperties"]
        assert properties["Type"] == "container"
        assert properties["PlatformCapabilities"] == ["FARGATE"]
        assert container["FargatePlatformConfiguration"]["PlatformVersion"] >= "1.4.0"
        assert container["Command"] == ["python", "-m", "pipeline.worker", step]
        environment = {item["Name"]: item["Value"] for item in container["Environment"]}
        [mount] = container["MountPoints"]
        [volume] = container["Volumes"]
        assert environment["EFS_MOUNT"] == mount["ContainerPath"] == "/mnt/efs"
        assert environment["EGRESS_URL"] == {"Fn::Sub": "s3://${EgressBucket}/"}
        assert environment["WORKFLOW_ID"] == "unset"
        assert mount["SourceVolume"] == volume["Name"]
        efs = volume["EfsVolumeConfiguration"]
        assert efs["FileSystemId"] == {"Ref": "FileSystem"}
        assert efs["TransitEncryption"] == "ENABLED"
        authorization = {"AccessPointId": {"Ref": "AccessPoint"}, "Iam": "ENABLED"}
        assert efs["AuthorizationConfig"] == authorization
        requirements = {item["Type"]: item["Value"] for item in container["ResourceRequirements"]}
        assert requirements == {"VCPU": {"Ref": "JobVcpus"}, "MEMORY": {"Ref": "JobMemory"}}
        options = container["LogConfiguration"]["Options"]
        assert container["LogConfiguration"]["LogDriver"] == "awslogs"
        assert options["awslogs-group"] == {"Ref": "JobLogGroup"}
        assert options["awslogs-stream-prefix"] == properties["JobDefinitionName"]
        assert properties["JobDefinitionName"] == {"Fn::Sub": f"${{AWS::StackName}}-{step}"}
        timeout = properties["Timeout"]["AttemptDurationSeconds"]
        assert timeout == {"Ref": "AttemptDurationSeconds"}


def test_retry_rule_uses_the_worker_retryable_exit_code(resources: dict[str, Any]):
    for step, properties in job_definitions(resources).items():
        strategy = properties["RetryStrategy"]
        rules = strategy["EvaluateOnExit"]
        assert strategy["Attempts"] == {"Ref": "RetryAttempts"}
        assert len(rules) <= 5, f"{step}: AWS Batch takes at most five rules"
        retried_codes = {rule.get("OnExitCode") for rule in rules if rule["Action"] == "RETRY"}
        assert str(RETRYABLE_EXIT_CODE) in retried_codes
        assert str(FAILURE_EXIT_CODE) not in retried_codes
        # A reclaimed Fargate Spot task stops with "Your Spot Task was interrupted."
        # (Amazon ECS Developer Guide, Fargate capacity providers).
        assert {"Action": "RETRY", "OnStatusReason": "Your Spot Task was interrupted*"} in rules
        assert rules[-1] == {"Action": "EXIT", "OnReason": "*"}
        for rule in rules:
            for key in ("OnExitCode", "OnReason", "OnStatusReason"):
                assert key not in rule or RETRY_PATTERN.match(rule[key]), rule


def test_compute_environments_are_fargate_per_step(resources: dict[str, Any]):
    for step in STEPS:
        name = step.title()
        environment = resources[f"{name}ComputeEnvironment"]["Properties"]
        compute = environment["ComputeResources"]
        # No ServiceRole: Batch then uses its service-linked role, which in-place updates
        # of the compute environment need (AWS Batch User Guide, service-linked roles).
        assert "ServiceRole" not in environment
        assert compute["Type"] == {"Fn::If": ["UseSpot", "FARGATE_SPOT", "FARGATE"]}
        assert compute["MaxvCpus"] == {"Ref": f"{name}MaxVcpus"}
        queue = resources[f"{name}JobQueue"]["Properties"]
        [order] = queue["ComputeEnvironmentOrder"]
        assert order["ComputeEnvironment"] == {"Ref": f"{name}ComputeEnvironment"}


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_the_image_runs_the_job_definition_commands(resources: dict[str, Any]):
    instructions = dockerfile_instructions()
    keywords = [keyword.upper() for keyword, _ in instructions]
    # Batch replaces CMD with the job definition's Command and cannot replace ENTRYPOINT:
    # an ENTRYPOINT would turn "python -m pipeline.worker procure" into its arguments.
    assert "ENTRYPOINT" not in keywords
    cmd = json.loads(dict(instructions)["CMD"])
    for properties in job_definitions(resources).values():
        assert properties["ContainerProperties"]["Command"][: len(cmd)] == cmd
    base = dict(instructions)["FROM"]
    assert re.search(r":\d+\.\d+\.\d+-slim", base), f"pin the base image's version: {base}"
    user = dict(instructions)["USER"]
    assert user.split(":")[0] not in ("root", "0")
    access_point = resources["AccessPoint"]["Properties"]["PosixUser"]
    assert user == f"{access_point['Uid']}:{access_point['Gid']}"


def test_worker_and_handlers_need_only_the_standard_library_and_boto3():
    """What the image installs (the package without dependencies, plus boto3) is enough."""
    probe = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import pipeline.worker.main, pipeline.handlers.prepare, pipeline.handlers.watch\n"
        "names = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "names -= set(sys.stdlib_module_names) | {'__mp_main__'}  # multiprocessing's alias\n"
        "print(' '.join(sorted(names)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    # boto3 and what it installs (botocore imports certifi when it is there).
    boto3_closure = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"}
    imported = set(result.stdout.split())
    assert "boto3" in imported
    assert imported - {"pipeline", "certifi"} <= boto3_closure


def test_lambdas_point_at_the_handlers(resources: dict[str, Any]):
    for name in ("PrepareFunction", "WatchFunction"):
        properties = resources[name]["Properties"]
        module, _, function = properties["Handler"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), function))
        assert properties["Runtime"] == "python3.14"  # the newest Lambda runtime (cdk-nag L1)
        assert properties["Code"] == {
            "S3Bucket": {"Ref": "CodeS3Bucket"},
            "S3Key": {"Ref": "CodeS3Key"},
        }
    prepare_function = resources["PrepareFunction"]["Properties"]
    [mount] = prepare_function["FileSystemConfigs"]
    variables = prepare_function["Environment"]["Variables"]
    assert variables["EFS_MOUNT"] == mount["LocalMountPath"] == "/mnt/efs"
    assert variables["DEFAULT_ID_COUNT"] == {"Ref": "DefaultIdCount"}
    assert variables["DEFAULT_IDS_PER_NODE"] == {"Ref": "DefaultIdsPerNode"}
    assert "AccessPoint" in json.dumps(mount["Arn"])
    watch_function = resources["WatchFunction"]["Properties"]
    assert watch_function["Environment"]["Variables"] == {
        "EGRESS_URL": {"Fn::Sub": "s3://${EgressBucket}/"}
    }


def test_watch_role_can_read_jobs_and_update_the_summary(resources: dict[str, Any]):
    [policy] = resources["WatchFunctionRole"]["Properties"]["Policies"]
    granted = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            granted[action] = statement["Resource"]
    assert {"batch:DescribeJobs", "batch:ListJobs", "s3:PutObject", "s3:GetObject"} <= set(granted)
    assert (
        granted["s3:PutObject"] == granted["s3:GetObject"] == {"Fn::Sub": "${EgressBucket.Arn}/*"}
    )
    assert granted["s3:ListBucket"] == {"Fn::GetAtt": ["EgressBucket", "Arn"]}


def test_schedule_sends_the_default_run(template: dict[str, Any], tmp_path: Path):
    parameters = template["Parameters"]
    rule = template["Resources"]["Schedule"]["Properties"]
    assert rule["ScheduleExpression"] == {"Ref": "ScheduleExpression"}
    assert rule["State"] == {"Ref": "ScheduleState"}
    [target] = rule["Targets"]
    assert target["Arn"] == {"Ref": "PipelineStateMachine"}
    text = target["Input"]["Fn::Sub"]
    for name in ("DefaultIdCount", "DefaultIdsPerNode"):
        text = text.replace(f"${{{name}}}", str(parameters[name]["Default"]))
    run = json.loads(text)
    assert run == {
        "id_count": parameters["DefaultIdCount"]["Default"],
        "ids_per_node": parameters["DefaultIdsPerNode"]["Default"],
    }
    prepared = prepare({"execution_name": "scheduled", "input": run}, {"EFS_MOUNT": str(tmp_path)})
    assert prepared["array_size"] == parse_run_input(run).array_size >= 2


def test_outputs(template: dict[str, Any]):
    assert set(CONTRACT_OUTPUTS) <= set(template["Outputs"])


def test_bootstrap_outputs_what_the_deploy_reads():
    bootstrap = load(BOOTSTRAP)
    assert {"ArtifactBucketName", "RepositoryUri", "BuildProjectName"} <= set(bootstrap["Outputs"])
    repository = bootstrap["Resources"]["Repository"]["Properties"]
    assert repository["ImageTagMutability"] == "IMMUTABLE"
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
    source = bootstrap["Resources"]["BuildProject"]["Properties"]["Source"]
    assert (ROOT / source["BuildSpec"]).is_file()


def test_ci_runs_make_test():
    commands = [
        shlex.split(line, comments=True) for line in (ROOT / ".ci" / "run").read_text().splitlines()
    ]
    assert ["make", "test"] in commands
