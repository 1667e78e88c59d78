"""The local ``stepfunctions`` client: responses in the shapes the Step Functions API
documents, over the SQLite model in :mod:`pipeline.local.stepfunctions.executions`."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pipeline.local.core.arns import region_of
from pipeline.local.core.client import LocalClient
from pipeline.local.runner import ensure_runner
from pipeline.local.stepfunctions.asl import UnsupportedDefinition
from pipeline.local.stepfunctions.executions import ExecutionRecord, Executions

NAME = re.compile(r"""^[^\s<>{}\[\]?*"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$""")
"""An execution name as StartExecution documents it: 1 to 80 characters, none of them
whitespace, brackets, wildcards, the special characters " # % \\ ^ | ~ ` $ & , ; : / or
control characters (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html)."""
PAGE = 100
HISTORY_PAGE = 1000


def _date(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


class StepFunctionsClient(LocalClient):
    """State machines and executions of the local backend."""

    service_name = "stepfunctions"
    invalid_token_code = "InvalidToken"

    def __init__(self, home, region: str = "us-east-1") -> None:
        super().__init__(home, region)
        self.model = Executions(self.home)

    def _terminate_jobs(self, arn: str) -> None:
        from pipeline.local.batch.client import BatchClient

        self.model.terminate_jobs(arn, BatchClient(self.home, self.region))

    def _machine(self, operation: str, arn: str):
        machine = self.model.state_machine(arn) if region_of(arn) == self.region else None
        if machine is None:
            raise self.error(
                operation, "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'"
            )
        return machine

    def _execution(self, operation: str, arn: str) -> ExecutionRecord:
        record = self.model.get(arn) if region_of(arn) == self.region else None
        if record is None:
            raise self.error(
                operation, "ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'"
            )
        return record

    def _serve(self, records: list[ExecutionRecord]) -> None:
        """Make sure a runner serves RUNNING executions: one started here fails those a
        dead runner left behind (reads change nothing themselves)."""
        if any(record.status == "RUNNING" for record in records):
            ensure_runner(self.home)

    def _check_definition(self, operation: str, text: str, name: str) -> None:
        """Raise the ``InvalidDefinition`` ClientError AWS raises, with one sentence, for a
        definition that is not JSON or that the local interpreter cannot run."""
        from pipeline.local.stepfunctions.integrations import validate_for_local

        try:
            definition = json.loads(text)
        except ValueError as error:
            message = f"State machine {name}: the definition is not JSON ({error})."
            raise self.error(operation, "InvalidDefinition", message) from None
        try:
            validate_for_local(definition, name)
        except UnsupportedDefinition as error:
            raise self.error(operation, "InvalidDefinition", str(error)) from None

    def create_state_machine(self, **params: Any) -> dict[str, Any]:
        """Create a state machine from an ASL definition the local interpreter can run."""
        self.validate("CreateStateMachine", params)
        arn = self.arn("states", f"stateMachine:{params['name']}")
        if self.model.state_machine(arn):
            raise self.error(
                "CreateStateMachine",
                "StateMachineAlreadyExists",
                f"State Machine Already Exists: '{arn}'",
            )
        self._check_definition("CreateStateMachine", params["definition"], params["name"])
        self.model.put_state_machine(arn, params["name"], params["definition"], params["roleArn"])
        return {
            "stateMachineArn": arn,
            "creationDate": _date(self.model.state_machine(arn).created_ms),
        }

    def update_state_machine(self, **params: Any) -> dict[str, Any]:
        """Replace a state machine's definition or role."""
        self.validate("UpdateStateMachine", params)
        machine = self._machine("UpdateStateMachine", params["stateMachineArn"])
        definition = params.get("definition", machine.definition)
        self._check_definition("UpdateStateMachine", definition, machine.name)
        role = params.get("roleArn", machine.role_arn)
        self.model.put_state_machine(machine.arn, machine.name, definition, role)
        return {"updateDate": datetime.now(UTC)}

    def delete_state_machine(self, **params: Any) -> dict[str, Any]:
        """Delete a state machine."""
        self.validate("DeleteStateMachine", params)
        self.model.delete_state_machine(params["stateMachineArn"])
        return {}

    def describe_state_machine(self, **params: Any) -> dict[str, Any]:
        """A state machine's definition and role."""
        self.validate("DescribeStateMachine", params)
        machine = self._machine("DescribeStateMachine", params["stateMachineArn"])
        return {
            "stateMachineArn": machine.arn,
            "name": machine.name,
            "status": "ACTIVE",
            "definition": machine.definition,
            "roleArn": machine.role_arn,
            "type": "STANDARD",
            "creationDate": _date(machine.created_ms),
        }

    def list_state_machines(self, **params: Any) -> dict[str, Any]:
        """Every state machine, by name."""
        self.validate("ListStateMachines", params)
        size = params.get("maxResults") or PAGE
        machines = [
            {
                "stateMachineArn": m.arn,
                "name": m.name,
                "type": "STANDARD",
                "creationDate": _date(m.created_ms),
            }
            for m in self.model.state_machines(self.region)
        ]
        page, token = self.page("ListStateMachines", machines, params.get("nextToken"), size)
        return {"stateMachines": page, **token}

    def start_execution(self, **params: Any) -> dict[str, Any]:
        """Start an execution; it runs in the background runner and this returns at once."""
        self.validate("StartExecution", params)
        machine = self._machine("StartExecution", params["stateMachineArn"])
        name = params.get("name") or str(uuid.uuid4())
        if not NAME.match(name):
            raise self.error("StartExecution", "InvalidName", f"Invalid Name: '{name}'")
        payload = params.get("input", "{}")
        try:
            json.loads(payload)
        except ValueError:
            raise self.error(
                "StartExecution", "InvalidExecutionInput", "Invalid execution input: not JSON"
            ) from None
        arn = self.arn("states", f"execution:{machine.name}:{name}")
        existing = self.model.get(arn)
        if existing:
            if existing.status != "RUNNING" or existing.input != payload:
                raise self.error(
                    "StartExecution", "ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'"
                )
            return {"executionArn": arn, "startDate": _date(existing.start_ms)}
        record = self.model.start(arn, machine.arn, name, payload)
        ensure_runner(self.home)
        return {"executionArn": arn, "startDate": _date(record.start_ms)}

    def describe_execution(self, **params: Any) -> dict[str, Any]:
        """An execution's status, input, output or error (live from any process)."""
        self.validate("DescribeExecution", params)
        record = self._execution("DescribeExecution", params["executionArn"])
        self._serve([record])
        response: dict[str, Any] = {
            "executionArn": record.arn,
            "stateMachineArn": record.state_machine_arn,
            "name": record.name,
            "status": record.status,
            "startDate": _date(record.start_ms),
            "input": record.input,
            "inputDetails": {"included": True},
        }
        if record.stop_ms is not None:
            response["stopDate"] = _date(record.stop_ms)
        if record.output is not None:
            response["output"] = record.output
            response["outputDetails"] = {"included": True}
        if record.error:
            response["error"] = record.error
        if record.cause:
            response["cause"] = record.cause
        return response

    def list_executions(self, **params: Any) -> dict[str, Any]:
        """A state machine's executions, newest first."""
        self.validate("ListExecutions", params)
        machine = self._machine("ListExecutions", params["stateMachineArn"])
        records = self.model.list(machine.arn, params.get("statusFilter"))
        self._serve(records)
        items = []
        for record in records:
            item = {
                "executionArn": record.arn,
                "stateMachineArn": record.state_machine_arn,
                "name": record.name,
                "status": record.status,
                "startDate": _date(record.start_ms),
            }
            if record.stop_ms is not None:
                item["stopDate"] = _date(record.stop_ms)
            items.append(item)
        size = params.get("maxResults") or PAGE
        page, token = self.page("ListExecutions", items, params.get("nextToken"), size)
        return {"executions": page, **token}

    def get_execution_history(self, **params: Any) -> dict[str, Any]:
        """The execution's events in AWS's shapes."""
        from pipeline.local.stepfunctions.asl.history import details_key

        self.validate("GetExecutionHistory", params)
        record = self._execution("GetExecutionHistory", params["executionArn"])
        events = []
        for event in self.model.history(record.arn):
            item = {
                "timestamp": _date(event["timestamp_ms"]),
                "type": event["type"],
                "id": event["id"],
                "previousEventId": event["id"] - 1,
            }
            if event["details"] is not None:
                item[details_key(event["type"])] = event["details"]
            events.append(item)
        if params.get("reverseOrder"):
            events.reverse()
        size = params.get("maxResults") or HISTORY_PAGE
        page, token = self.page("GetExecutionHistory", events, params.get("nextToken"), size)
        return {"events": page, **token}

    def stop_execution(self, **params: Any) -> dict[str, Any]:
        """Abort a running execution and terminate the Batch jobs it submitted."""
        self.validate("StopExecution", params)
        record = self._execution("StopExecution", params["executionArn"])
        stopped = self.model.request_stop(record.arn, params.get("error"), params.get("cause"))
        self._terminate_jobs(record.arn)
        return {"stopDate": _date(record.stop_ms or stopped)}
