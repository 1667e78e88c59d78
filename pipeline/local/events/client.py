"""The local ``events`` client: the stack's scheduled rules in the shapes the EventBridge
API documents, over :mod:`pipeline.local.events.rules`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.local.core.client import LocalClient
from pipeline.local.events.rules import RuleRecord, Rules
from pipeline.local.runner import ensure_runner


class EventsClient(LocalClient):
    """Scheduled rules of the local backend (the deploy creates them from the template)."""

    service_name = "events"

    def __init__(self, home, region: str = "us-east-1") -> None:
        super().__init__(home, region)
        self.model = Rules(self.home)

    def _rule(self, operation: str, name: str) -> RuleRecord:
        record = self.model.get(self.arn("events", f"rule/{name}"))
        if record is None:
            raise self.error(operation, "ResourceNotFoundException", f"Rule {name} does not exist.")
        return record

    def describe_rule(self, **params: Any) -> dict[str, Any]:
        """A rule's schedule expression and state; an enabled rule gets a runner (one that
        stopped with the machine, say), as a read of a RUNNING execution does."""
        self.validate("DescribeRule", params)
        record = self._rule("DescribeRule", params["Name"])
        if record.next_ms is not None:
            ensure_runner(self.home)
        return {
            "Name": record.name,
            "Arn": record.arn,
            "ScheduleExpression": record.expression,
            "State": record.state,
            "EventBusName": "default",
        }

    def list_targets_by_rule(self, **params: Any) -> dict[str, Any]:
        """The state machines the rule starts, with the rule's input."""
        self.validate("ListTargetsByRule", params)
        record = self._rule("ListTargetsByRule", params["Rule"])
        targets = []
        for target in record.targets:
            item = {"Id": target.id, "Arn": target.arn}
            if target.input is not None:
                item["Input"] = target.input
            targets.append(item)
        return {"Targets": targets}

    def next_firing(self, name: str) -> datetime | None:
        """When the local runner fires the rule next (None while it is disabled).

        Not an EventBridge operation: AWS does not report a rule's next firing; the local
        backend knows it because its runner is the timer."""
        record = self._rule("DescribeRule", name)
        return datetime.fromtimestamp(record.next_ms / 1000, UTC) if record.next_ms else None
