"""The local ``cloudformation`` client: the real template deployed onto local resources,
with responses in the shapes the CloudFormation API documents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.errors import N2NError
from pipeline.local.cloudformation.stacks import StackExists, StackRecord, Stacks
from pipeline.local.core.arns import ACCOUNT
from pipeline.local.core.client import LocalClient


def _date(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def _without_empty(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` without empty strings (the API leaves such members out)."""
    return {key: value for key, value in item.items() if value != ""}


class _Clients:
    """The sibling local clients a deploy drives, built on first use."""

    def __init__(self, home, region: str) -> None:
        self.home, self.region = home, region

    def __getattr__(self, name: str) -> Any:
        from pipeline.connect import SERVICES
        from pipeline.local import local_client

        client = local_client(SERVICES[name], self.home, self.region)
        setattr(self, name, client)
        return client


class CloudFormationClient(LocalClient):
    """Stacks of the local backend."""

    service_name = "cloudformation"

    def __init__(self, home, region: str = "us-east-1") -> None:
        super().__init__(home, region)
        self.model = Stacks(self.home, _Clients(self.home, region), region, ACCOUNT)

    def _stack(self, operation: str, name: str) -> StackRecord:
        record = self.model.get(name)
        if record is None:
            raise self.error(operation, "ValidationError", f"Stack with id {name} does not exist")
        return record

    def _deploy(self, operation: str, params: dict[str, Any], update: bool) -> dict[str, Any]:
        self.validate(operation, params)
        if "TemplateBody" not in params:
            raise self.error(
                operation,
                "ValidationError",
                "The local backend needs TemplateBody: pass the "
                "template's text, not a TemplateURL.",
            )
        given = {p["ParameterKey"]: p for p in params.get("Parameters", [])}
        previous = self.model.get(params["StackName"])
        values = {
            key: (
                previous.parameters[key]
                if item.get("UsePreviousValue") and previous
                else item["ParameterValue"]
            )
            for key, item in given.items()
        }
        try:
            record = self.model.deploy(
                params["StackName"], params["TemplateBody"], values, update=update
            )
        except StackExists as error:
            raise self.error(operation, "AlreadyExistsException", str(error)) from None
        except N2NError as error:
            raise self.error(operation, "ValidationError", str(error)) from None
        return {"StackId": record.stack_id}

    def create_stack(self, **params: Any) -> dict[str, Any]:
        """Create a stack from the template body; it is CREATE_COMPLETE when this returns."""
        return self._deploy("CreateStack", params, update=False)

    def update_stack(self, **params: Any) -> dict[str, Any]:
        """Update a stack; "No updates are to be performed." when nothing changes."""
        return self._deploy("UpdateStack", params, update=True)

    def delete_stack(self, **params: Any) -> dict[str, Any]:
        """Delete a stack's local resources (data under DeletionPolicy Retain stays)."""
        self.validate("DeleteStack", params)
        self.model.delete(params["StackName"])
        return {}

    def describe_stacks(self, **params: Any) -> dict[str, Any]:
        """One stack, or every stack."""
        self.validate("DescribeStacks", params)
        names = [params["StackName"]] if params.get("StackName") else self.model.names()
        stacks = []
        for name in names:
            record = self._stack("DescribeStacks", name)
            stack = _without_empty(
                {
                    "StackId": record.stack_id,
                    "StackName": record.name,
                    "Description": record.description,
                    "Parameters": [
                        {"ParameterKey": key, "ParameterValue": value}
                        for key, value in record.parameters.items()
                    ],
                    "CreationTime": _date(record.created_ms),
                    "StackStatus": record.status,
                    "Outputs": [
                        _without_empty(
                            {
                                "OutputKey": key,
                                "OutputValue": output["value"],
                                "Description": output["description"],
                            }
                        )
                        for key, output in record.outputs.items()
                    ],
                    "Tags": [],
                }
            )
            if record.updated_ms:
                stack["LastUpdatedTime"] = _date(record.updated_ms)
            stacks.append(stack)
        return {"Stacks": stacks}

    def describe_stack_events(self, **params: Any) -> dict[str, Any]:
        """The stack's events, newest first."""
        self.validate("DescribeStackEvents", params)
        record = self._stack("DescribeStackEvents", params["StackName"])
        events = [
            {
                "StackId": event["stack_id"],
                "EventId": event["event_id"],
                "StackName": record.name,
                "LogicalResourceId": event["logical_id"],
                "PhysicalResourceId": event["physical_id"],
                "ResourceType": event["type"],
                "Timestamp": _date(event["timestamp_ms"]),
                "ResourceStatus": event["status"],
            }
            for event in self.model.events(record.name)
        ]
        return {"StackEvents": events}

    def list_stack_resources(self, **params: Any) -> dict[str, Any]:
        """The stack's resources and their physical ids."""
        self.validate("ListStackResources", params)
        record = self._stack("ListStackResources", params["StackName"])
        summaries = [
            {
                "LogicalResourceId": resource.logical_id,
                "PhysicalResourceId": resource.physical_id,
                "ResourceType": resource.type,
                "LastUpdatedTimestamp": _date(updated),
                "ResourceStatus": status,
            }
            for resource, status, updated in self.model.resources(record.name)
        ]
        return {"StackResourceSummaries": summaries}
