"""Regions on the local backend: a client sees only its region's resources, as on AWS
(state machines, stacks, job queues, job definitions and jobs are regional resources)."""

from __future__ import annotations

import time

import pytest

from pipeline.connect import connect
from pipeline.deploy.local import LocalDeployer
from pipeline.local.cloudformation.stacks import StackError
from pipeline.runs import start_run, wait_for_run
from pipeline.spec import parse_run_input
from tests.local.e2e import stop_runner


@pytest.fixture(scope="module")
def eu_home(tmp_path_factory, local_env):
    home = tmp_path_factory.mktemp("regions")
    local_env.setenv("N2N_HOME", str(home))
    LocalDeployer(home=home, region="eu-west-1").deploy("n2n", {})
    yield home
    stop_runner(home)


def test_a_stack_deployed_in_eu_west_1_is_invisible_from_us_east_1(eu_home):
    us = connect("local", home=eu_home, region="us-east-1")
    assert us.sfn.list_state_machines()["stateMachines"] == []
    assert us.cloudformation.describe_stacks()["Stacks"] == []
    assert us.batch.describe_job_queues()["jobQueues"] == []
    assert us.batch.describe_compute_environments()["computeEnvironments"] == []
    assert us.batch.describe_job_definitions()["jobDefinitions"] == []
    with pytest.raises(us.cloudformation.exceptions.ClientError) as caught:
        us.cloudformation.describe_stacks(StackName="n2n")
    assert caught.value.response["Error"]["Code"] == "ValidationError"


def test_the_eu_west_1_client_sees_its_resources_with_eu_west_1_arns(eu_home):
    eu = connect("local", home=eu_home, region="eu-west-1")
    machines = eu.sfn.list_state_machines()["stateMachines"]
    assert len(machines) == 1
    assert machines[0]["stateMachineArn"].startswith("arn:aws:states:eu-west-1:")
    (stack,) = eu.cloudformation.describe_stacks()["Stacks"]
    assert stack["StackId"].startswith("arn:aws:cloudformation:eu-west-1:")
    queues = eu.batch.describe_job_queues()["jobQueues"]
    assert queues and all(q["jobQueueArn"].startswith("arn:aws:batch:eu-west-1:") for q in queues)


def test_a_run_in_eu_west_1_succeeds_and_its_execution_and_jobs_stay_there(eu_home):
    eu = connect("local", home=eu_home, region="eu-west-1")
    arn = start_run(eu, "n2n", parse_run_input({"id_count": 20, "ids_per_node": 5}))
    deadline = time.monotonic() + 120

    def guard(state, progress):
        assert time.monotonic() < deadline, f"{arn} still {state.status} after 120s"

    state = wait_for_run(eu, arn, guard, poll_s=0.1)
    assert state.status == "SUCCEEDED"
    us = connect("local", home=eu_home, region="us-east-1")
    with pytest.raises(us.sfn.exceptions.ExecutionDoesNotExist):
        us.sfn.describe_execution(executionArn=arn)
    job_ids = list(state.jobs.values())
    assert len(eu.batch.describe_jobs(jobs=job_ids)["jobs"]) == 3
    assert us.batch.describe_jobs(jobs=job_ids)["jobs"] == []


def test_the_same_stack_name_in_a_second_region_is_refused_with_a_reason(eu_home):
    with pytest.raises(StackError, match=r"already exists in eu-west-1 under this N2N_HOME"):
        LocalDeployer(home=eu_home, region="us-east-1").deploy("n2n", {})
    us = connect("local", home=eu_home, region="us-east-1")
    assert us.cloudformation.describe_stacks()["Stacks"] == []
