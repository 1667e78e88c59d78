"""Execution history events in the shapes of GetExecutionHistory: event names, detail
member names (from botocore's stepfunctions model) and the events of a Task resource."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

from pipeline.local.core.client import service_model

SERVICE_PREFIX = "arn:aws:states:::"
LAMBDA_FUNCTION_PREFIX = "arn:aws:lambda:"


@functools.cache
def _history_event():
    return service_model("stepfunctions").shape_for("HistoryEvent")


@functools.cache
def event_types() -> frozenset[str]:
    """Every history event type botocore knows."""
    return frozenset(_history_event().members["type"].enum)


@functools.cache
def details_key(event_type: str) -> str:
    """The HistoryEvent member holding ``event_type``'s details, e.g. ``TaskStateEntered`` →
    ``stateEnteredEventDetails``; KeyError when that event carries no details."""
    members = {name for name in _history_event().members if name.endswith("EventDetails")}
    words = re.findall(r"[A-Z][a-z]*", event_type)
    for start in range(len(words)):
        candidate = words[start].lower() + "".join(words[start + 1 :]) + "EventDetails"
        if candidate in members:
            return candidate
    raise KeyError(f"{event_type} events carry no details")


def as_json(value: Any) -> str:
    """``value`` as the compact JSON text history events hold."""
    return json.dumps(value, separators=(",", ":"))


def data_details(key: str, value: Any) -> dict[str, Any]:
    """``{key: json, keyDetails: {"truncated": False}}`` for an input or output."""
    return {key: as_json(value), f"{key}Details": {"truncated": False}}


def state_entered(name: str, state_input: Any) -> dict[str, Any]:
    """Details of a ``*StateEntered`` event."""
    return {"name": name, **data_details("input", state_input)}


def state_exited(name: str, output: Any) -> dict[str, Any]:
    """Details of a ``*StateExited`` event."""
    return {"name": name, **data_details("output", output)}


@dataclass(frozen=True)
class TaskEvents:
    """The events one Task resource records: ``Task*`` with resourceType/resource for a
    service integration (``arn:aws:states:::SERVICE:ACTION``), ``LambdaFunction*`` for a
    plain Lambda function ARN."""

    resource: str
    region: str

    @property
    def is_lambda_function(self) -> bool:
        """Whether the resource is a Lambda function ARN (not an integration)."""
        return self.resource.startswith(LAMBDA_FUNCTION_PREFIX)

    @property
    def _names(self) -> dict[str, str]:
        service, _, action = self.resource.removeprefix(SERVICE_PREFIX).partition(":")
        return {"resourceType": service, "resource": action}

    def scheduled(self, parameters: Any, timeout_s: int | None) -> tuple[str, dict[str, Any]]:
        """The event of a task about to be called with ``parameters``."""
        timeout = {} if timeout_s is None else {"timeoutInSeconds": timeout_s}
        if self.is_lambda_function:
            details = {"resource": self.resource, **data_details("input", parameters)}
            return "LambdaFunctionScheduled", {**details, **timeout}
        details = {**self._names, "region": self.region, "parameters": as_json(parameters)}
        return "TaskScheduled", {**details, **timeout}

    def started(self) -> tuple[str, dict[str, Any] | None]:
        """The event of a task that started."""
        if self.is_lambda_function:
            return "LambdaFunctionStarted", None
        return "TaskStarted", dict(self._names)

    def succeeded(self, output: Any) -> tuple[str, dict[str, Any]]:
        """The event of a task that returned ``output``."""
        prefix = "LambdaFunction" if self.is_lambda_function else "Task"
        names = {} if self.is_lambda_function else self._names
        return f"{prefix}Succeeded", {**names, **data_details("output", output)}

    def failed(self, error: str, cause: str, timed_out: bool = False) -> tuple[str, dict[str, Any]]:
        """The event of a task that failed (or timed out) with ``error``."""
        prefix = "LambdaFunction" if self.is_lambda_function else "Task"
        names = {} if self.is_lambda_function else self._names
        return f"{prefix}{'TimedOut' if timed_out else 'Failed'}", {
            **names,
            "error": error,
            "cause": cause,
        }
