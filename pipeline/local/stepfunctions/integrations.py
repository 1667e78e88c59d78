"""Task integrations of the local interpreter, by resource ARN: Lambda (optimized
``lambda:invoke`` and plain function ARNs) and ``batch:submitJob`` (request-response, or
``.sync``: wait for the job) on the local engine.

Each integration takes the state's effective parameters and returns what AWS returns;
failures become ``TaskFailed`` with AWS's error names.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

from pipeline.local.awslambda.environments import Environments
from pipeline.local.awslambda.functions import LambdaFailed, LambdaFunctions
from pipeline.local.core.client import service_model
from pipeline.local.core.shapes import pascal, to_api
from pipeline.local.stepfunctions.asl import TaskFailed, UnsupportedDefinition, validate_definition
from pipeline.local.stepfunctions.asl.errors import TASK_FAILED

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
BATCH_SUBMIT = "arn:aws:states:::batch:submitJob"
BATCH_SUBMIT_SYNC = f"{BATCH_SUBMIT}.sync"
SYNC_POLL_S = 0.05
FINISHED_JOB = frozenset({"SUCCEEDED", "FAILED"})
SDK_METADATA = {
    "SdkHttpMetadata": {"HttpStatusCode": 200},
    "SdkResponseMetadata": {"RequestId": "local"},
}


class Integrations:
    """The integrations one execution's interpreter calls."""

    def __init__(
        self,
        home: Path,
        batch: Any,
        on_job: Callable[[str], None],
        environments: Environments,
    ) -> None:
        self.functions = LambdaFunctions(home)
        self.batch = batch
        self.on_job = on_job
        self.environments = environments

    def __call__(self, resource: str, parameters: Any) -> Any:
        """Run the task ``resource`` with ``parameters``."""
        if resource == LAMBDA_INVOKE:
            return {
                "ExecutedVersion": "$LATEST",
                "Payload": self._lambda(parameters["FunctionName"], parameters.get("Payload")),
                "StatusCode": 200,
                **SDK_METADATA,
            }
        if resource == BATCH_SUBMIT:
            return self._submit_job(parameters)
        if resource == BATCH_SUBMIT_SYNC:
            return self._run_job(self._submit_job(parameters)["JobId"])
        return self._lambda(resource, parameters)

    def _lambda(self, name: str, payload: Any) -> Any:
        function = self.functions.get(name)
        if function is None:
            raise TaskFailed("Lambda.ResourceNotFoundException", f"Function not found: {name}")
        try:
            return self.environments.invoke(function, payload)
        except LambdaFailed as failure:
            raise TaskFailed(failure.error, failure.cause) from None

    def _submit_job(self, parameters: Any) -> dict[str, Any]:
        shape = service_model("batch").operation_model("SubmitJob").input_shape
        try:
            response = self.batch.submit_job(**to_api(parameters, shape))
        except ClientError as error:
            code = error.response["Error"]["Code"]
            raise TaskFailed(f"Batch.{code}", error.response["Error"]["Message"]) from None
        except ParamValidationError as error:
            raise TaskFailed("Batch.ClientException", str(error)) from None
        self.on_job(response["jobId"])
        response.pop("ResponseMetadata", None)
        return {**pascal(response), **SDK_METADATA}

    def _run_job(self, job_id: str) -> dict[str, Any]:
        """Wait for the job to finish; its description in PascalCase, as ``.sync`` returns
        it, or ``States.TaskFailed`` with that description as the cause when it failed
        (https://docs.aws.amazon.com/step-functions/latest/dg/connect-batch.html)."""
        while True:
            job = self.batch.describe_jobs(jobs=[job_id])["jobs"][0]
            if job["status"] in FINISHED_JOB:
                break
            time.sleep(SYNC_POLL_S)
        described = pascal(job)
        if job["status"] == "FAILED":
            raise TaskFailed(TASK_FAILED, json.dumps(described, separators=(",", ":")))
        return described


def supports_resource(resource: str) -> bool:
    """Whether the local backend can run a Task with this resource."""
    return resource in (LAMBDA_INVOKE, BATCH_SUBMIT, BATCH_SUBMIT_SYNC) or (
        resource.startswith("arn:aws:lambda:") and ":function:" in resource
    )


def validate_for_local(definition: dict[str, Any], name: str) -> None:
    """Reject a definition the local interpreter cannot run, naming the state machine."""
    try:
        validate_definition(definition, supports_resource)
    except UnsupportedDefinition as error:
        raise UnsupportedDefinition(f"State machine {name}: {error}") from None
