"""The stack's schedule (its EventBridge rule) as ``n2n status`` shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

RULE_TYPE = "AWS::Events::Rule"


@dataclass(frozen=True)
class StackSchedule:
    """A stack's scheduled rule: its expression, state and, where the backend knows it (the
    local runner is its own timer; AWS does not report it), the next firing."""

    rule: str
    expression: str
    state: str
    next_firing: datetime | None

    @property
    def next_firing_text(self) -> str | None:
        """The next firing in UTC to the millisecond (``2024-05-01T06:00:00.000Z``)."""
        if self.next_firing is None:
            return None
        return self.next_firing.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def document(self) -> dict[str, str | None]:
        """The schedule as ``n2n status --json`` prints it."""
        return {
            "rule": self.rule,
            "expression": self.expression,
            "state": self.state,
            "nextFiring": self.next_firing_text,
        }

    def describe(self) -> str:
        """One line: ``rate(1 day), ENABLED, next firing 2024-05-01T06:00:00.000Z``."""
        line = f"{self.expression}, {self.state}"
        if self.next_firing is not None:
            line += f", next firing {self.next_firing_text}"
        return line


def stack_schedule(conn: Any, stack: str) -> StackSchedule | None:
    """The stack's scheduled rule, or None when its template has none."""
    pages = conn.cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
    names = [
        resource["PhysicalResourceId"]
        for page in pages
        for resource in page["StackResourceSummaries"]
        if resource["ResourceType"] == RULE_TYPE
    ]
    if not names:
        return None
    rule = conn.events.describe_rule(Name=names[0])
    next_firing = getattr(conn.events, "next_firing", None)
    return StackSchedule(
        rule=rule["Name"],
        expression=rule.get("ScheduleExpression", ""),
        state=rule["State"],
        next_firing=next_firing(rule["Name"]) if next_firing else None,
    )
