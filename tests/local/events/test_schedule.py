"""The template's EventBridge schedule runs on the local backend: an enabled rule starts
executions with its input on its ``rate``, compressed by ``N2N_TIME_SCALE``; ``n2n status``
shows the next firing; disabling the rule or tearing the stack down stops it."""

from __future__ import annotations

import json

import pytest

from pipeline.cli.main import main
from pipeline.deploy.local import LocalDeployer
from pipeline.errors import StackError
from pipeline.local.runner import runner_alive
from tests.local.e2e import stop_runner
from tests.waiting import wait_until

SCHEDULE = {
    "ScheduleExpression": "rate(1 minute)",
    "ScheduleState": "ENABLED",
    "DefaultIdCount": "6",
    "DefaultIdsPerNode": "2",
}
RULE_INPUT = {"id_count": 6, "ids_per_node": 2}  # the template's Input with the values above


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private home where rate(1 minute) fires every 1.2 s and an idle runner exits fast."""
    home = tmp_path / "scheduled"
    monkeypatch.setenv("N2N_HOME", str(home))
    monkeypatch.setenv("N2N_TIME_SCALE", "0.02")
    monkeypatch.setenv("N2N_RUNNER_IDLE_S", "0.2")
    yield home
    stop_runner(home)


def executions(deployer: LocalDeployer, outputs: dict) -> list[dict]:
    sfn = deployer.conn.sfn
    return sfn.list_executions(stateMachineArn=outputs["StateMachineArn"])["executions"]


def status(capsys, stack: str) -> dict:
    assert main(["status", "--latest", "--stack", stack, "--json"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_an_enabled_rule_starts_runs_until_it_is_disabled(home, capsys):
    deployer = LocalDeployer(home=home)
    outputs = deployer.deploy("sched", SCHEDULE)
    started = wait_until(
        lambda: len(found := executions(deployer, outputs)) >= 2 and found,
        deadline=120,
        describe=lambda: executions(deployer, outputs),
    )
    sfn = deployer.conn.sfn
    for execution in started:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        assert json.loads(described["input"]) == RULE_INPUT
    shown = status(capsys, "sched")["schedule"]
    assert (shown["expression"], shown["state"]) == ("rate(1 minute)", "ENABLED")
    assert shown["nextFiring"] is not None

    deployer.deploy("sched", {**SCHEDULE, "ScheduleState": "DISABLED"})
    shown = status(capsys, "sched")["schedule"]
    assert (shown["state"], shown["nextFiring"]) == ("DISABLED", None)
    # with the rule disabled nothing keeps the runner: it exits once the runs have ended
    wait_until(
        lambda: not runner_alive(home), deadline=120, describe=lambda: executions(deployer, outputs)
    )
    running = deployer.conn.sfn.list_executions(
        stateMachineArn=outputs["StateMachineArn"], statusFilter="RUNNING"
    )
    assert running["executions"] == []


def test_teardown_stops_the_schedule(home):
    deployer = LocalDeployer(home=home)
    outputs = deployer.deploy("sched", SCHEDULE)
    wait_until(lambda: executions(deployer, outputs), deadline=120)
    resources = deployer.conn.cloudformation.list_stack_resources(StackName="sched")
    (rule,) = [
        resource["PhysicalResourceId"]
        for resource in resources["StackResourceSummaries"]
        if resource["ResourceType"] == "AWS::Events::Rule"
    ]
    assert deployer.conn.events.describe_rule(Name=rule)["State"] == "ENABLED"
    deployer.teardown("sched", purge=True)
    events = deployer.conn.events
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_rule(Name=rule)
    wait_until(lambda: not runner_alive(home), deadline=120)


def test_an_expression_the_local_backend_cannot_run_fails_the_deploy(home):
    deployer = LocalDeployer(home=home)
    with pytest.raises(StackError) as error:
        deployer.deploy("sched", {**SCHEDULE, "ScheduleExpression": "cron(0 6 * * * *)"})
    assert str(error.value) == (
        "Resource Schedule (AWS::Events::Rule): Schedule expression 'cron(0 6 * * * *)' must "
        "have '?' in exactly one of Day-of-month and Day-of-week: write it as "
        "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html "
        "describes."
    )
    assert deployer.conn.cloudformation.describe_stacks()["Stacks"] == []
    assert not runner_alive(home)
