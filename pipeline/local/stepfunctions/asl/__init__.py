"""The Amazon States Language interpreter of the local backend.

``validate_definition`` rejects at deploy time what cannot run; ``Interpreter`` runs one
execution, calling an ``Integration`` for each Task and recording history events.
"""

from pipeline.local.stepfunctions.asl.errors import (
    ExecutionAborted,
    ExecutionFailed,
    ExecutionTimedOut,
    TaskFailed,
    UnsupportedDefinition,
)
from pipeline.local.stepfunctions.asl.history import details_key
from pipeline.local.stepfunctions.asl.interpreter import Integration, Interpreter
from pipeline.local.stepfunctions.asl.validate import validate_definition

__all__ = [
    "ExecutionAborted",
    "ExecutionFailed",
    "ExecutionTimedOut",
    "Integration",
    "Interpreter",
    "TaskFailed",
    "UnsupportedDefinition",
    "details_key",
    "validate_definition",
]
