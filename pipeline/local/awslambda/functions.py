"""Local Lambda functions: the template's ``Handler`` called in-process.

The deploy records each function (handler path, environment already mapped to local
folders); ``invoke`` imports the handler, runs it with that environment and returns the
result, or raises :class:`LambdaFailed` carrying AWS's error payload.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pipeline.local.core.arns import DEFAULT_REGION, region_of
from pipeline.local.core.db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    arn TEXT NOT NULL UNIQUE,
    handler TEXT NOT NULL,
    environment TEXT NOT NULL,
    timeout_s INTEGER NOT NULL
);
"""
_ENVIRON_LOCK = threading.Lock()


class LambdaFailed(Exception):
    """The handler raised: ``error`` is the exception type, ``cause`` AWS's JSON payload."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass(frozen=True)
class LocalFunction:
    """One deployed function."""

    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout_s: int


class LambdaFunctions:
    """The registry of local functions under ``home``."""

    def __init__(self, home: Path) -> None:
        self.db = Database(home, "lambda", SCHEMA)

    def put(self, function: LocalFunction) -> None:
        """Create or replace a function."""
        with self.db.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO functions VALUES (?, ?, ?, ?, ?)",
                (
                    function.name,
                    function.arn,
                    function.handler,
                    json.dumps(function.environment),
                    function.timeout_s,
                ),
            )

    def delete(self, name: str) -> None:
        """Remove a function."""
        with self.db.transaction():
            self.db.execute("DELETE FROM functions WHERE name = ?", (name,))

    def get(self, name_or_arn: str) -> LocalFunction | None:
        """The function with this name or ARN, or None."""
        name = name_or_arn.split(":function:", 1)[-1].split(":")[0]
        row = self.db.execute(
            "SELECT * FROM functions WHERE name = ? OR arn = ?", (name, name_or_arn)
        ).fetchone()
        if row is None:
            return None
        return LocalFunction(
            row["name"],
            row["arn"],
            row["handler"],
            json.loads(row["environment"]),
            row["timeout_s"],
        )


def _resolve_handler(path: str):
    module, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def _context(function: LocalFunction) -> SimpleNamespace:
    return SimpleNamespace(
        function_name=function.name,
        function_version="$LATEST",
        invoked_function_arn=function.arn,
        memory_limit_in_mb=128,
        aws_request_id=str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/{function.name}",
        get_remaining_time_in_millis=lambda: function.timeout_s * 1000,
    )


def _reserved_environment(function: LocalFunction) -> dict[str, str]:
    """What Lambda sets for every function: its region and name
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime)."""
    region = region_of(function.arn) or DEFAULT_REGION
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
    }


def _with_environment(environment: Mapping[str, str], call):
    with _ENVIRON_LOCK:
        saved = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        try:
            return call()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def invoke(function: LocalFunction, payload: Any) -> Any:
    """Run the function's handler on a JSON copy of ``payload``; return its JSON result."""
    event = json.loads(json.dumps(payload))
    context = _context(function)
    try:
        handler = _resolve_handler(function.handler)
        environment = {**_reserved_environment(function), **function.environment}
        result = _with_environment(environment, lambda: handler(event, context))
        return json.loads(json.dumps(result))
    except Exception as error:  # every handler error becomes Lambda's error payload
        cause = {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "requestId": context.aws_request_id,
            "stackTrace": traceback.format_exception(error)[1:],
        }
        raise LambdaFailed(type(error).__name__, json.dumps(cause)) from error
