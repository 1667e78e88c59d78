"""The local logs client: groups, streams, events and filter patterns, with the real
paging tokens, responses validated against botocore's model."""

from __future__ import annotations

import json

import pytest

from pipeline.local.logs.client import LogsClient
from pipeline.local.logs.models import StreamLog, append_streams, open_logs_db
from pipeline.local.logs.patterns import PatternError, compile_pattern
from tests.shapes import assert_aws_shape

GROUP = "/n2n/worker"


def _step(index: int, step: str, records: int) -> str:
    return json.dumps({"event": "n2n.step", "step": step, "index": index, "records": records})


@pytest.fixture
def logs(n2n_home):
    client = LogsClient(n2n_home)
    client.create_log_group(logGroupName=GROUP)
    streams = [
        StreamLog(
            GROUP,
            f"procure/default/task{index}",
            1000 + index,
            [(1000 + index, f"starting {index}"), (1001 + index, _step(index, "procure", index))],
        )
        for index in range(5)
    ]
    append_streams(open_logs_db(n2n_home), streams)
    return client


def test_groups(logs):
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=7)
    response = logs.describe_log_groups(logGroupNamePrefix="/n2n")
    assert_aws_shape("logs", "describe_log_groups", response)
    (group,) = response["logGroups"]
    assert group["logGroupName"] == GROUP and group["retentionInDays"] == 7
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=GROUP)
    logs.delete_log_group(logGroupName=GROUP)
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.describe_log_streams(logGroupName=GROUP)


def test_streams_page_through_the_paginator(logs):
    pages = list(
        logs.get_paginator("describe_log_streams").paginate(
            logGroupName=GROUP, PaginationConfig={"PageSize": 2}
        )
    )
    for page in pages:
        assert_aws_shape("logs", "describe_log_streams", page)
    names = [s["logStreamName"] for p in pages for s in p["logStreams"]]
    assert names == [f"procure/default/task{i}" for i in range(5)]
    latest = logs.describe_log_streams(logGroupName=GROUP, orderBy="LastEventTime", descending=True)
    assert latest["logStreams"][0]["lastEventTimestamp"] == 1005


def test_get_log_events_tokens(logs):
    stream = "procure/default/task2"
    head = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, startFromHead=True, limit=1
    )
    assert_aws_shape("logs", "get_log_events", head)
    assert head["events"][0]["message"] == "starting 2"
    rest = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, nextToken=head["nextForwardToken"]
    )
    assert [e["message"] for e in rest["events"]] == [_step(2, "procure", 2)]
    end = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, nextToken=rest["nextForwardToken"]
    )
    assert end["events"] == [] and end["nextForwardToken"] == rest["nextForwardToken"]
    back = logs.get_log_events(
        logGroupName=GROUP, logStreamName=stream, nextToken=rest["nextBackwardToken"]
    )
    assert [e["message"] for e in back["events"]] == ["starting 2"]
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName=GROUP, logStreamName="nope")


def test_filter_log_events_json_pattern_and_pages(logs):
    pattern = '{ $.event = "n2n.step" && $.step = "procure" }'
    pages = list(
        logs.get_paginator("filter_log_events").paginate(
            logGroupName=GROUP, filterPattern=pattern, PaginationConfig={"PageSize": 2}
        )
    )
    for page in pages:
        assert_aws_shape("logs", "filter_log_events", page)
    found = [json.loads(e["message"])["index"] for p in pages for e in p["events"]]
    assert found == [0, 1, 2, 3, 4]
    one = logs.filter_log_events(logGroupName=GROUP, filterPattern="{ $.index = 3 }")["events"]
    assert [e["logStreamName"] for e in one] == ["procure/default/task3"]
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(logGroupName=GROUP, filterPattern="{ $.a = }")


@pytest.mark.parametrize(
    ("pattern", "message", "expected"),
    [
        ("", "anything", True),
        ('{ $.event = "n2n.step" }', '{"event": "n2n.step"}', True),
        ('{ $.event = "n2n.step" }', '{"event": "n2n.error"}', False),
        ('{ $.event = "n2n.step" && $.step = "egress" }', '{"event": "n2n.step"}', False),
        ('{ $.event="a"&&$.step="b" }', '{"event": "a", "step": "b"}', True),
        ('{ $.event = "a && b" }', '{"event": "a && b"}', True),
        ("{ $.records = 5 }", '{"records": 5}', True),
        ("{ $.records = 5 }", '{"records": "5"}', False),
        ("{ $.ok = 1 }", '{"ok": true}', False),
        ('{ $.a.b = "x" }', '{"a": {"b": "x"}}', True),
        ('{ $.event = "x" }', "not json", False),
    ],
)
def test_patterns(pattern, message, expected):
    assert compile_pattern(pattern)(message) is expected


@pytest.mark.parametrize(
    "pattern",
    ["ERROR", "{ $.a > 1 }", '{ $.a = "n2n.*" }', '{ $.a = "x" || $.b = "y" }', "{ $.a = 1"],
)
def test_patterns_the_kit_does_not_use_are_refused(pattern):
    with pytest.raises(PatternError, match="not supported locally"):
        compile_pattern(pattern)
