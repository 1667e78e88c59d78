"""The stack's schedule as ``n2n status`` reads it on AWS (botocore's Stubber checks every
request and response against the real API models): AWS reports no next firing."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
from botocore.stub import Stubber

from pipeline.connect import Connection
from pipeline.runs.schedule import StackSchedule, stack_schedule


def test_on_aws_the_rule_is_read_and_no_next_firing_is_invented():
    session = boto3.session.Session(region_name="us-east-1")
    clients = {name: session.client(name) for name in ("cloudformation", "events")}
    conn = Connection("aws", clients.__getitem__)
    with Stubber(clients["cloudformation"]) as cfn, Stubber(clients["events"]) as events:
        cfn.add_response(
            "list_stack_resources",
            {
                "StackResourceSummaries": [
                    {
                        "LogicalResourceId": "Schedule",
                        "PhysicalResourceId": "n2n-Schedule-ABC",
                        "ResourceType": "AWS::Events::Rule",
                        "LastUpdatedTimestamp": datetime(2024, 5, 1, tzinfo=UTC),
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                ]
            },
            {"StackName": "n2n"},
        )
        events.add_response(
            "describe_rule",
            {"Name": "n2n-Schedule-ABC", "ScheduleExpression": "rate(1 day)", "State": "DISABLED"},
            {"Name": "n2n-Schedule-ABC"},
        )
        schedule = stack_schedule(conn, "n2n")
    assert schedule == StackSchedule("n2n-Schedule-ABC", "rate(1 day)", "DISABLED", None)
    assert schedule.describe() == "rate(1 day), DISABLED"


def test_the_next_firing_is_printed_to_the_millisecond_in_utc():
    moment = datetime(2024, 5, 1, 6, 0, 0, 120_000, tzinfo=UTC)
    schedule = StackSchedule("r", "rate(1 minute)", "ENABLED", moment)
    assert schedule.describe() == "rate(1 minute), ENABLED, next firing 2024-05-01T06:00:00.120Z"
