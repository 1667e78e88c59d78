"""Deploy ``infra/template.yaml`` on the local backend, through its cloudformation client."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.connect import connect
from pipeline.errors import StackError
from pipeline.kit_files import infra_folder
from pipeline.local.cloudformation.template import load_template

LOCAL_PARAMETERS = {
    "CodeS3Bucket": "n2n-local-artifacts",
    "CodeS3Key": "lambda/local.zip",
    "WorkerImageUri": "000000000000.dkr.ecr.us-east-1.amazonaws.com/n2n-worker:local",
}
"""Values for the parameters that only mean something on AWS (code and image locations)."""


class LocalDeployer:
    """Create, update and delete the pipeline stack under ``N2N_HOME``."""

    def __init__(self, home: Path | None = None, region: str | None = None) -> None:
        self.conn = connect("local", home=home, region=region)
        self.template = infra_folder() / "template.yaml"

    def _parameters(self, body: str, given: Mapping[str, str]) -> list[dict[str, str]]:
        declared = load_template(body).get("Parameters", {})
        values = {
            key: value
            for key, value in LOCAL_PARAMETERS.items()
            if key in declared and "Default" not in declared[key]
        }
        values.update(given)
        return [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in values.items()]

    def deploy(self, stack: str, parameters: Mapping[str, str]) -> dict[str, str]:
        """Create the stack, or update it when it exists; return its outputs."""
        cfn = self.conn.cloudformation
        body = self.template.read_text()
        request = {
            "StackName": stack,
            "TemplateBody": body,
            "Parameters": self._parameters(body, parameters),
        }
        exists = stack in {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
        try:
            (cfn.update_stack if exists else cfn.create_stack)(**request)
        except cfn.exceptions.ClientError as error:
            message = error.response["Error"]["Message"]
            if message != "No updates are to be performed.":
                raise StackError(message) from None
            print(f"Stack {stack} is up to date: no changes.")
        outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
        return {o["OutputKey"]: o["OutputValue"] for o in outputs}

    def teardown(self, stack: str, purge: bool = False) -> list[str]:
        """Delete the stack (with ``purge``, its retained buckets, file systems and logs too)."""
        model = self.conn.cloudformation.model
        if model.get(stack) is None:
            raise StackError(f"Stack {stack} does not exist on the local backend: check --stack.")
        removed = model.delete(stack, purge=purge)
        return [f"{r.type} {r.physical_id}" for r in removed]
