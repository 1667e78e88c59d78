"""EventBridge schedule expressions, against firing times worked out by hand from the
examples and wildcards of
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
(calendar facts used: 2024-05-01 is a Wednesday, 2024-06-01 a Saturday, 2024-08-01 a
Thursday, 2024 a leap year)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.local.events.expressions import Rate, ScheduleExpressionError, parse_schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # "Run at 10:00 am (UTC+0) every day"
        ("cron(0 10 * * ? *)", "2024-05-01T09:59:30", "2024-05-01T10:00"),
        ("cron(0 10 * * ? *)", "2024-05-01T10:00", "2024-05-02T10:00"),
        # "Run at 12:15 pm (UTC+0) every day", across a year end
        ("cron(15 12 * * ? *)", "2024-12-31T12:15", "2025-01-01T12:15"),
        # "Run at 6:00 pm (UTC+0) every Monday through Friday": Friday 3 May -> Monday 6 May
        ("cron(0 18 ? * MON-FRI *)", "2024-05-03T18:00", "2024-05-06T18:00"),
        # "Run at 8:00 am (UTC+0) every first day of the month"
        ("cron(0 8 1 * ? *)", "2024-01-01T08:00", "2024-02-01T08:00"),
        # "Run every 15 minutes"
        ("cron(0/15 * * * ? *)", "2024-05-01T10:07", "2024-05-01T10:15"),
        ("cron(0/15 * * * ? *)", "2024-05-01T10:45", "2024-05-01T11:00"),
        # "Run every 10 minutes Monday through Friday": Friday night -> Monday 00:00
        ("cron(0/10 * ? * MON-FRI *)", "2024-05-03T23:55", "2024-05-06T00:00"),
        # "Run every 5 minutes Monday through Friday between 8:00 am and 5:55 pm"
        ("cron(0/5 8-17 ? * MON-FRI *)", "2024-05-01T17:55", "2024-05-02T08:00"),
        # "Run at 9 a.m. (UTC) the first Monday of each month": 6 May, then 3 June
        ("cron(0 9 ? * 2#1 *)", "2024-05-06T09:00", "2024-06-03T09:00"),
        # "1/10 ... every tenth minute, starting from the first minute of the hour"
        ("cron(1/10 * * * ? *)", "2024-05-01T10:05", "2024-05-01T10:11"),
        # "JAN,FEB,MAR includes January, February, and March"
        ("cron(0 0 1 JAN,FEB,MAR ? *)", "2024-03-01T00:00", "2025-01-01T00:00"),
        # L in Day-of-month: the last day (29 February in a leap year)
        ("cron(0 0 L * ? *)", "2024-02-01T00:00", "2024-02-29T00:00"),
        # 3W: the weekday closest to the 3rd; 3 August 2024 is a Saturday -> Friday 2nd
        ("cron(0 0 3W * ? *)", "2024-07-31T00:00", "2024-08-02T00:00"),
        # 1W when the 1st is a Saturday: Friday would leave the month -> Monday 3 June
        ("cron(0 0 1W * ? *)", "2024-05-31T00:00", "2024-06-03T00:00"),
        # 5L in Day-of-week: the last Thursday of May 2024 is the 30th
        ("cron(0 0 ? * 5L *)", "2024-05-01T00:00", "2024-05-30T00:00"),
        # L alone in Day-of-week: the last day of the week, Saturday
        ("cron(0 0 ? * L *)", "2024-05-01T00:00", "2024-05-04T00:00"),
        # a Year field
        ("cron(0 0 1 1 ? 2026-2027)", "2024-05-01T00:00", "2026-01-01T00:00"),
    ],
)
def test_next_firing_of_the_documented_examples(expression, after, expected):
    assert parse_schedule(expression).next_after(at(after)) == at(expected)


def test_a_cron_with_no_firing_left_has_none():
    assert parse_schedule("cron(0 0 1 1 ? 2025)").next_after(at("2025-01-01T00:00")) is None


@pytest.mark.parametrize(
    ("expression", "period_s"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 days)", 172800),
    ],
)
def test_rates(expression, period_s):
    assert parse_schedule(expression) == Rate(period_s)


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("cron(0 10 * * * *)", "exactly one of Day-of-month and Day-of-week"),
        ("cron(0 10 ? * ? *)", "exactly one of Day-of-month and Day-of-week"),
        ("cron(0 10 * * ?)", "has 5 fields"),
        ("cron(60 * * * ? *)", "has 60, outside 0-59"),
        ("cron(0 0 ? * 3#1,6#3 *)", "combines '#'"),
        ("cron(0 0 ? * 3#6 *)", "has 6, outside 1-5"),
        ("cron(0 L * * ? *)", "allows , - * / only"),
        ("rate(1 minutes)", "wrong unit form"),
        ("rate(5 minute)", "wrong unit form"),
        ("rate(0 minutes)", "rate of 0"),
        ("rate(1 week)", "neither rate"),
    ],
)
def test_expressions_eventbridge_rejects_fail_in_one_sentence(expression, says):
    with pytest.raises(ScheduleExpressionError) as error:
        parse_schedule(expression)
    assert says in str(error.value)
    assert str(error.value).count(". ") == 0
