"""CloudFormation stacks: create or update through a change set, delete, read outputs.

Every wait is a boto3 waiter; while it blocks, the stack's new events stream into a
progress bar. A change set that fails or holds no changes is deleted (with the empty
stack a first create leaves in ``REVIEW_IN_PROGRESS``), so a failed deploy leaves no
half-made change set behind.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, WaiterError
from tqdm import tqdm

from pipeline.deploy.aws.package import Artifact, upload
from pipeline.deploy.aws.progress import polling
from pipeline.deploy.aws.session import AwsSession
from pipeline.errors import StackError

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
TEMPLATE_BODY_LIMIT = 51_200
MAX_WAIT_S = 2 * 3600
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# Stacks without resources that cannot be updated: deleted before a new create.
REPLACEABLE = frozenset({"REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE"})
STABLE = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)
TERMINAL_SUFFIXES = ("_COMPLETE", "_FAILED", "_SKIPPED")


def _missing(error: ClientError) -> bool:
    """Whether ``error`` says the stack does not exist: DescribeStacks answers so with
    ValidationError, the code botocore's own ``stack_exists`` waiter reads as missing."""
    return error.response["Error"]["Code"] == "ValidationError"


class StackEvents:
    """Streams the events a stack gets from now on: one line each, and a progress bar
    counting resources that reached a final status. Remembers the resource failures."""

    def __init__(self, cfn: Any, stack_id: str, total: int | None, label: str) -> None:
        self.cfn = cfn
        self.stack_id = stack_id
        self.failures: list[dict[str, Any]] = []
        newest = cfn.describe_stack_events(StackName=stack_id)["StackEvents"][:1]
        self._last = newest[0]["EventId"] if newest else None
        self.bar = tqdm(total=total, desc=label, unit="resource", disable=None, file=sys.stderr)

    def __enter__(self) -> StackEvents:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.bar.close()

    def _new_events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        paginator = self.cfn.get_paginator("describe_stack_events")
        for page in paginator.paginate(StackName=self.stack_id):
            for event in page["StackEvents"]:
                if event["EventId"] == self._last:
                    break
                events.append(event)
            else:
                continue
            break
        if events:
            self._last = events[0]["EventId"]
        return events[::-1]

    def poll(self) -> None:
        """Show the events that arrived since the last poll."""
        for event in self._new_events():
            status = event["ResourceStatus"]
            reason = event.get("ResourceStatusReason", "")
            self.bar.write(
                f"{event['Timestamp']:%H:%M:%S} {status:<30} {event['LogicalResourceId']} "
                f"({event['ResourceType']}) {reason}".rstrip(),
                file=sys.stderr,
            )
            if event.get("PhysicalResourceId") == self.stack_id:
                continue
            if status.endswith("_FAILED"):
                self.failures.append(event)
            if status.endswith(TERMINAL_SUFFIXES):
                self.bar.update(1)

    def first_failure(self) -> str | None:
        """The first failed resource and its reason, skipping failures that only say they
        were cancelled because another resource failed first."""
        causes = [e for e in self.failures if "cancelled" not in e.get("ResourceStatusReason", "")]
        for event in causes or self.failures:
            return (
                f"{event['LogicalResourceId']} ({event['ResourceType']}) "
                f"{event['ResourceStatus']}: {event.get('ResourceStatusReason', 'no reason given')}"
            )
        return None


class StackDeployer:
    """Creates, updates and deletes the CloudFormation stacks of one session, through change
    sets."""

    def __init__(self, aws: AwsSession, delay: float = 10.0) -> None:
        self.cfn = aws.client("cloudformation")
        self.s3 = aws.client("s3")
        self.region = aws.region
        self.delay = delay

    @property
    def _waiter_config(self) -> dict[str, int | float]:
        return {"Delay": self.delay, "MaxAttempts": int(MAX_WAIT_S // max(self.delay, 1))}

    def describe(self, name: str) -> dict[str, Any] | None:
        """The stack called (or with the id) ``name``, or None when there is none."""
        try:
            return self.cfn.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as error:
            if _missing(error):
                return None
            raise

    def status(self, name: str) -> str | None:
        """The stack's status, or None when there is no such stack."""
        stack = self.describe(name)
        return stack["StackStatus"] if stack else None

    def outputs(self, name: str) -> dict[str, str]:
        """The stack's outputs, key → value."""
        stack = self.describe(name) or {}
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def resources(self, name: str) -> list[dict[str, Any]]:
        """The stack's resource summaries (logical id, type, physical id, status)."""
        paginator = self.cfn.get_paginator("list_stack_resources")
        pages = paginator.paginate(StackName=name)
        return [summary for page in pages for summary in page["StackResourceSummaries"]]

    def is_current(self, name: str, template: Path) -> bool:
        """Whether the stack is in a stable state and was deployed from ``template`` as is."""
        if self.status(name) not in STABLE:
            return False
        deployed = self.cfn.get_template(StackName=name, TemplateStage="Original")
        return deployed["TemplateBody"] == template.read_text()

    def deploy(
        self,
        name: str,
        template: Path,
        parameters: Mapping[str, str],
        bucket: str | None = None,
    ) -> dict[str, str]:
        """Create or update stack ``name`` from ``template`` through a change set; return
        its outputs. Parameters not given keep their previous value on an update; a template
        over the body limit is uploaded to ``bucket``."""
        stack = self.describe(name)
        if stack and stack["StackStatus"] in REPLACEABLE:
            print(
                f"Stack {name} is left over from a failed create "
                f"({stack['StackStatus']}); deleting it first.",
                file=sys.stderr,
            )
            self.delete(name)
            stack = None
        if stack and stack["StackStatus"].endswith("_IN_PROGRESS"):
            raise StackError(
                f"Stack {name} is busy ({stack['StackStatus']}): wait until it finishes, "
                "then deploy again."
            )
        change_type = "UPDATE" if stack else "CREATE"
        created = self._create_change_set(name, change_type, stack, parameters, template, bucket)
        if created is None:
            return self._unchanged(name)
        change_set, stack_id = created["Id"], created["StackId"]
        try:
            changes = self._changes(name, change_set)
        except BaseException:
            self._discard(change_set, stack_id, change_type)
            raise
        if changes is None:
            self._discard(change_set, stack_id, change_type)
            return self._unchanged(name)
        with StackEvents(self.cfn, stack_id, len(changes), name) as events:
            self.cfn.execute_change_set(ChangeSetName=change_set)
            waiter = "stack_create_complete" if change_type == "CREATE" else "stack_update_complete"
            self._wait(waiter, name, stack_id, events)
        return self.outputs(name)

    def delete(self, name: str) -> None:
        """Delete stack ``name`` and wait until it is gone."""
        stack = self.describe(name)
        if stack is None:
            raise StackError(
                f"Stack {name} does not exist in {self.region}: check --stack, --region "
                "and --profile."
            )
        stack_id = stack["StackId"]
        with StackEvents(self.cfn, stack_id, len(self.resources(stack_id)), name) as events:
            self.cfn.delete_stack(StackName=stack_id)
            self._wait("stack_delete_complete", name, stack_id, events)

    def _template_source(self, template: Path, bucket: str | None) -> dict[str, str]:
        if not template.is_file():
            raise StackError(f"{template} is missing: run the deploy from a checkout of n2n-kit.")
        body = template.read_bytes()
        if len(body) <= TEMPLATE_BODY_LIMIT:
            return {"TemplateBody": body.decode()}
        if not bucket:
            raise StackError(
                f"{template} is over {TEMPLATE_BODY_LIMIT:,} bytes and needs an artifact "
                "bucket to be uploaded to: deploy it with the bootstrap stack's bucket."
            )
        key = upload(self.s3, bucket, Artifact("templates", body, template.suffix))
        return {"TemplateURL": f"https://{bucket}.s3.{self.region}.amazonaws.com/{key}"}

    def _parameters(
        self, stack: dict[str, Any] | None, given: Mapping[str, str], source: dict[str, str]
    ) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = [
            {"ParameterKey": key, "ParameterValue": value} for key, value in given.items()
        ]
        if stack is None:
            return parameters
        summary = self.cfn.get_template_summary(**source)
        declared = {p["ParameterKey"] for p in summary.get("Parameters", [])}
        previous = {p["ParameterKey"] for p in stack.get("Parameters", [])}
        kept = sorted((declared & previous) - set(given))
        return parameters + [{"ParameterKey": key, "UsePreviousValue": True} for key in kept]

    def _create_change_set(
        self,
        name: str,
        change_type: str,
        stack: dict[str, Any] | None,
        parameters: Mapping[str, str],
        template: Path,
        bucket: str | None,
    ) -> dict[str, Any] | None:
        """The new change set's ids, or None when CloudFormation already says there is
        nothing to update; a rejected template or parameter is a :class:`StackError`."""
        source = self._template_source(template, bucket)
        try:
            return self.cfn.create_change_set(
                StackName=name,
                ChangeSetName=f"n2n-{uuid.uuid4().hex[:12]}",
                ChangeSetType=change_type,
                Parameters=self._parameters(stack, parameters, source),
                Capabilities=CAPABILITIES,
                **source,
            )
        except ClientError as error:
            details = error.response["Error"]
            if details["Code"] != "ValidationError":
                raise
            if any(marker in details["Message"] for marker in NO_CHANGES):
                return None
            message = details["Message"].rstrip(".")
            raise StackError(f"CloudFormation rejected stack {name}: {message}.") from None

    def _unchanged(self, name: str) -> dict[str, str]:
        print(f"Stack {name} is up to date: no changes.")
        return self.outputs(name)

    def _changes(self, name: str, change_set: str) -> list[dict[str, Any]] | None:
        """The changes of a created change set (possibly none, e.g. only outputs change),
        or None when CloudFormation found nothing to do."""
        try:
            self.cfn.get_waiter("change_set_create_complete").wait(
                ChangeSetName=change_set, WaiterConfig=self._waiter_config
            )
        except WaiterError as error:
            described = self.cfn.describe_change_set(ChangeSetName=change_set)
            reason = described.get("StatusReason", "")
            if any(marker in reason for marker in NO_CHANGES):
                return None
            raise StackError(
                f"The change set for stack {name} failed: {reason or error}."
            ) from None
        paginator = self.cfn.get_paginator("describe_change_set")
        return [c for page in paginator.paginate(ChangeSetName=change_set) for c in page["Changes"]]

    def _discard(self, change_set: str, stack_id: str, change_type: str) -> None:
        self.cfn.delete_change_set(ChangeSetName=change_set)
        if change_type == "CREATE":
            self.cfn.delete_stack(StackName=stack_id)

    def _wait(self, waiter: str, name: str, stack_id: str, events: StackEvents) -> None:
        try:
            with polling(events.poll, self.delay):
                self.cfn.get_waiter(waiter).wait(
                    StackName=stack_id, WaiterConfig=self._waiter_config
                )
        except WaiterError as error:
            stack = self.describe(stack_id) or {}
            status = stack.get("StackStatus", "an unknown state")
            cause = events.first_failure() or stack.get("StackStatusReason") or str(error)
            raise StackError(f"Stack {name} ended in {status}: {cause.rstrip('.')}.") from None
