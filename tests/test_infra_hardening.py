"""The findings of the pre-production review of infra/, each as a fact of the templates:
expected values come from the AWS documentation cited at each test, not from the code.
(The worker's exit codes, the watch's stop and the deploy's preflight checks are tested
beside their code: test_worker_aws_errors.py, test_watch_polling.py, tests/aws/.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipeline.handlers.polling import next_wait_s, out_of_time
from pipeline.local.cloudformation.template import TemplateError, load_template, resolve_stack
from tests.test_infra import load, resources, template

__all__ = ["resources", "template"]  # the shared fixtures of test_infra.py

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "template.yaml"
BOOTSTRAP = ROOT / "infra" / "bootstrap.yaml"
REQUIRED = {
    "CodeS3Bucket": "artifacts-bucket",
    "CodeS3Key": "lambda/0123.zip",
    "WorkerImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/n2n-worker:abc",
}


@pytest.fixture(scope="module")
def local_template() -> dict[str, Any]:
    """The template as the local backend reads it (it resolves every intrinsic)."""
    return load_template(TEMPLATE.read_text())


# 1. Subnets vs mount targets --------------------------------------------------------------
@pytest.mark.parametrize(
    ("subnets", "ok"),
    [
        ("", True),
        ("subnet-0123456789abcdef0,subnet-0123456789abcdef1", True),
        ("subnet-0123456789abcdef0", False),
        ("subnet-01234567,subnet-89abcdef,subnet-0123456789abcdef0", False),
    ],
)
def test_subnet_ids_are_exactly_two(template: dict[str, Any], subnets: str, ok: bool):
    """Two mount targets serve two Availability Zones: a third subnet (a third zone) would
    leave PrepareFunction without a mount target there (Lambda Developer Guide: "a mount
    target in every Availability Zone that your function connects to")."""
    pattern = template["Parameters"]["SubnetIds"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, subnets)) is ok


def test_mount_targets_cover_the_subnets_the_lambdas_use(resources: dict[str, Any]):
    subnets = {"Fn::Split": [",", {"Ref": "SubnetIds"}]}
    targets = [resources[f"MountTarget{x}"]["Properties"]["SubnetId"] for x in "AB"]
    given = [target["Fn::If"][1] for target in targets]
    assert given == [{"Fn::Select": [i, subnets]} for i in (0, 1)]
    for function in ("PrepareFunction", "WatchFunction"):
        vpc = resources[function]["Properties"]["VpcConfig"]["SubnetIds"]
        assert vpc["Fn::If"][1] == subnets


# 2. Execution history and stuck jobs -------------------------------------------------------
HISTORY_LIMIT = 25_000  # events per execution (Step Functions Developer Guide, quotas)
EVENTS_PER_POLL = 9  # Wait 2 + Lambda task 5 + Choice 2
EVENTS_OUTSIDE_THE_LOOP = 60  # prepare, submits, the stop path and the end: well under


def test_the_watch_loop_fits_the_execution_history_at_the_worst_settings(
    template: dict[str, Any],
):
    """With the shortest interval and the longest run the template allows, the loop until
    the run is stopped writes fewer events than an execution may hold."""
    parameters = template["Parameters"]
    interval = parameters["WatchIntervalSeconds"]["MinValue"]
    timeout = parameters["RunTimeoutSeconds"]["MaxValue"]
    age, polls = interval, 0
    while True:
        polls += 1
        wait = next_wait_s(age, interval)
        if out_of_time(age, wait, timeout):
            break
        age += wait
    assert polls * EVENTS_PER_POLL + EVENTS_OUTSIDE_THE_LOOP < HISTORY_LIMIT
    assert age < timeout  # the run is stopped before the execution's own timeout


def test_a_fixed_interval_would_outgrow_the_history():
    """The failure the growing wait prevents: 30 s polls fill the history in under a day."""
    assert HISTORY_LIMIT // EVENTS_PER_POLL * 30 < 24 * 3600


def test_stuck_runnable_jobs_are_cancelled(template: dict[str, Any], resources: dict[str, Any]):
    """AWS Batch cancels a job blocked at the head of its queue for these reasons after
    maxTimeSeconds (600 to 86,400); on Fargate the only action is CANCEL (AWS Batch User
    Guide, jobStateTimeLimitActions)."""
    bound = template["Parameters"]["RunnableTimeoutSeconds"]
    assert 600 <= bound["MinValue"] <= bound["Default"] <= bound["MaxValue"] <= 86_400
    reasons = {
        "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
    }
    for step in ("Procure", "Process", "Egress"):
        actions = resources[f"{step}JobQueue"]["Properties"]["JobStateTimeLimitActions"]
        assert {a["Reason"] for a in actions} == reasons
        for action in actions:
            assert (action["Action"], action["State"]) == ("CANCEL", "RUNNABLE")
            assert action["MaxTimeSeconds"] == {"Ref": "RunnableTimeoutSeconds"}


# 3. EFS file system policy ----------------------------------------------------------------
def test_the_file_system_policy_admits_only_this_account_through_access_points(
    resources: dict[str, Any],
):
    """An allow in the file system policy grants access on its own (EFS User Guide, IAM
    for NFS clients), so it must not leave "*" unconditioned."""
    [statement] = resources["FileSystem"]["Properties"]["FileSystemPolicy"]["Statement"]
    assert statement["Effect"] == "Allow"
    condition = statement["Condition"]
    assert condition["StringEquals"] == {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}
    arn = condition["ArnLike"]["elasticfilesystem:AccessPointArn"]["Fn::Sub"]
    assert arn.endswith(":${AWS::AccountId}:access-point/*")
    assert condition["Bool"] == {
        "aws:SecureTransport": "true",
        "elasticfilesystem:AccessedViaMountTarget": "true",
    }


# 4. Nothing leaks from a failed first create ----------------------------------------------
DATA = ("FileSystem", "LogBucket", "EgressBucket", "JobLogGroup", "PrepareLogGroup")


@pytest.mark.parametrize(
    ("retain", "policy"), [("Retain", "RetainExceptOnCreate"), ("Delete", "Delete")]
)
def test_kept_data_is_not_kept_from_a_rolled_back_create(
    local_template: dict[str, Any], retain: str, policy: str
):
    """RetainExceptOnCreate keeps a resource on stack delete but deletes it when the create
    that made it rolls back (CloudFormation Template Reference, DeletionPolicy)."""
    stack = resolve_stack(local_template, "n2n", {**REQUIRED, "RetainData": retain})
    for name in DATA:
        assert stack.resources[name].deletion_policy == policy, name


# 8. Batch service-linked role -------------------------------------------------------------
def test_no_batch_service_role_is_made(resources: dict[str, Any]):
    """Without ServiceRole, Batch uses AWSServiceRoleForBatch (AWS Batch User Guide)."""
    roles = {name for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    assert "BatchServiceRole" not in roles
    for name, resource in resources.items():
        if resource["Type"] == "AWS::IAM::Role":
            assert "ManagedPolicyArns" not in resource["Properties"], name


# 9. Artifacts that a rollback may need ----------------------------------------------------
def test_lambda_code_and_tagged_images_never_expire():
    bootstrap = load(BOOTSTRAP)["Resources"]
    rules = bootstrap["ArtifactBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = [rule for rule in rules if "ExpirationInDays" in rule]
    assert {rule.get("Prefix") for rule in expiring} == {"source/", "templates/"}
    policy = json.loads(
        bootstrap["Repository"]["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"]
    )
    assert [rule["selection"]["tagStatus"] for rule in policy["rules"]] == ["untagged"]


# 10. Fargate vCPU / memory pairs -----------------------------------------------------------
# AWS Batch API Reference, ResourceRequirement (value for MEMORY on Fargate), by vCPU:
FARGATE_MEMORY = {
    "0.25": [512, 1024, 2048],
    "0.5": [1024, 2048, 3072, 4096],
    "1": [2048, 3072, 4096, 5120, 6144, 7168, 8192],
    "2": [4096 + 1024 * k for k in range(13)],
    "4": [8192 + 1024 * k for k in range(23)],
}


def test_every_allowed_pair_deploys_exactly_when_fargate_runs_it(
    template: dict[str, Any], local_template: dict[str, Any]
):
    parameters = template["Parameters"]
    assert FARGATE_MEMORY["2"][-1] == 16384 and FARGATE_MEMORY["4"][-1] == 30720
    for vcpus in parameters["JobVcpus"]["AllowedValues"]:
        for memory in parameters["JobMemory"]["AllowedValues"]:
            chosen = {**REQUIRED, "JobVcpus": vcpus, "JobMemory": str(memory)}
            try:
                resolve_stack(local_template, "n2n", chosen)
                deployed = True
            except TemplateError as error:
                assert str(error).startswith(f"With JobVcpus {vcpus} Fargate needs JobMemory")
                deployed = False
            assert deployed is (memory in FARGATE_MEMORY[vcpus]), (vcpus, memory)
