"""The ``aws`` deployer: bootstrap stack → code and source zips → worker image → stack.

``{stack}-bootstrap`` (from ``infra/bootstrap.yaml``) holds the artifact bucket, the ECR
repository and the CodeBuild project; ``{stack}`` (from ``infra/template.yaml``) is the
pipeline, given its Lambda code and worker image through parameters.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from pipeline.deploy.aws.build import ImageBuilder
from pipeline.deploy.aws.package import container_source, lambda_code, upload
from pipeline.deploy.aws.preflight import check_network, check_region
from pipeline.deploy.aws.session import AwsSession, resolve_session
from pipeline.deploy.aws.stack import StackDeployer
from pipeline.deploy.aws.teardown import remove_stack
from pipeline.errors import StackError
from pipeline.kit_files import infra_folder, source_root

TEMPLATE = "template.yaml"
BOOTSTRAP_TEMPLATE = "bootstrap.yaml"
ARTIFACT_BUCKET = "ArtifactBucketName"
REPOSITORY_URI = "RepositoryUri"
BUILD_PROJECT = "BuildProjectName"


def bootstrap_stack_name(stack: str) -> str:
    """The name of the bootstrap stack that serves pipeline stack ``stack``."""
    return f"{stack}-bootstrap"


class AwsDeployer:
    """Deploys and tears down the pipeline stack of one AWS session."""

    def __init__(self, aws: AwsSession, root: Path | None = None, delay: float = 10.0) -> None:
        """``root``: the project to package and deploy (default: the installed kit)."""
        self.aws = aws
        self.root = root or source_root()
        self.infra = root / "infra" if root else infra_folder()
        self.delay = delay
        self.stacks = StackDeployer(aws, delay=delay)

    @classmethod
    def connect(cls, region: str | None = None, profile: str | None = None) -> AwsDeployer:
        """A deployer on the session the standard AWS chain resolves."""
        return cls(resolve_session(region=region, profile=profile))

    def bootstrap(self, stack: str) -> dict[str, str]:
        """Deploy ``{stack}-bootstrap`` unless it is current; return its outputs."""
        name = bootstrap_stack_name(stack)
        template = self.infra / BOOTSTRAP_TEMPLATE
        if template.is_file() and self.stacks.is_current(name, template):
            outputs = self.stacks.outputs(name)
        else:
            outputs = self.stacks.deploy(name, template, {})
        missing = [
            key for key in (ARTIFACT_BUCKET, REPOSITORY_URI, BUILD_PROJECT) if not outputs.get(key)
        ]
        if missing:
            raise StackError(
                f"Stack {name} has no output {', '.join(missing)}: infra/{BOOTSTRAP_TEMPLATE} must "
                f"declare it."
            )
        return outputs

    def deploy(self, stack: str, parameters: Mapping[str, str]) -> dict[str, str]:
        """Deploy the pipeline stack ``stack`` with ``parameters``; return its outputs. The
        Region and the network are checked before anything is created."""
        check_region(self.aws.region)
        check_network(self.aws, parameters)
        bootstrap = self.bootstrap(stack)
        bucket = bootstrap[ARTIFACT_BUCKET]
        s3 = self.aws.client("s3")
        code_key = upload(s3, bucket, lambda_code(self.root))
        source = container_source(self.root)
        upload(s3, bucket, source)
        builder = ImageBuilder(
            self.aws, bootstrap[BUILD_PROJECT], bootstrap[REPOSITORY_URI], delay=self.delay
        )
        image = builder.ensure_image(bucket, source.key, source.digest)
        print(f"Deploying stack {stack} with worker image {image}.", file=sys.stderr)
        ours = {"CodeS3Bucket": bucket, "CodeS3Key": code_key, "WorkerImageUri": image}
        return self.stacks.deploy(
            stack, self.infra / TEMPLATE, {**ours, **parameters}, bucket=bucket
        )

    def teardown(self, stack: str, purge: bool = False) -> list[str]:
        """Delete the pipeline stack; with ``purge`` also its retained data and the bootstrap
        stack with its artifacts and images. Return what was removed."""
        names = [stack, bootstrap_stack_name(stack)] if purge else [stack]
        present = [name for name in names if self.stacks.status(name)]
        if not present:
            raise StackError(
                f"Stack {stack} does not exist in {self.aws.region}: check --stack, --region "
                "and --profile."
            )
        return [
            line for name in present for line in remove_stack(self.aws, self.stacks, name, purge)
        ]
