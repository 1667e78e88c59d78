"""Local Lambda functions: the registry of the template's functions.

The deploy records each function (handler path, environment already mapped to local
folders, ``Timeout``); :mod:`pipeline.local.awslambda.environments` runs them.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path

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


def resolve_handler(path: str):
    """The handler function named by a ``module.function`` path."""
    module, _, attribute = path.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def reserved_environment(function: LocalFunction) -> dict[str, str]:
    """What Lambda sets for every function: its region and name
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime)."""
    region = region_of(function.arn) or DEFAULT_REGION
    return {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
    }
