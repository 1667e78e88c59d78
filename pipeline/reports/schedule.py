"""Run the report (``06_report.ipynb``) on a schedule, two ways.

- **cron, on this machine**: :func:`crontab_line` prints the line that runs ``n2n report``
  with this interpreter from this folder. Nothing here edits a crontab.
- **SageMaker, on AWS**: :func:`put_schedule` creates or updates a SageMaker Pipeline with
  one notebook-job step that runs the report notebook (backend ``aws``) on the SageMaker
  Distribution image, and an EventBridge Scheduler schedule that starts the pipeline
  (``sagemaker:StartPipelineExecution``) on an EventBridge cron expression;
  :func:`delete_schedule` removes both.

The notebook job runs in a fresh container: the kit's sources (``pyproject.toml``,
``README.md``, ``pipeline/``) are uploaded next to the notebook and an initialization script
pip-installs them before the notebook starts.

The SageMaker Python SDK (the ``sagemaker`` extra) is imported only here, only when a
pipeline is built.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError

from pipeline.errors import N2NError
from pipeline.kit_files import source_root
from pipeline.notebooks import KERNEL_NAME, find_step
from pipeline.reports.report import DEFAULT_LAST_N

REPORT_NOTEBOOK = "06_report"
DEFAULT_INSTANCE_TYPE = "ml.t3.medium"
KIT_FILES = ("pyproject.toml", "README.md", "pipeline")
INIT_SCRIPT = "n2n-init.sh"
INIT_SCRIPT_TEXT = """\
# n2n-kit: install the kit, uploaded next to the notebook, with its dependencies.
pip install --quiet --disable-pip-version-check "${SM_EXECUTION_INPUT_PATH}"
"""
CRONTAB_FIELDS = ("minute", "hour", "day of month", "month", "day of week")
EVENTBRIDGE_FIELDS = (*CRONTAB_FIELDS, "year")
EXTRA_HINT = "pip install -e '.[sagemaker]'"
MISSING = re.compile(r"could not find|does not exist", re.IGNORECASE)


class ScheduleError(N2NError):
    """A schedule that cannot be built, created or deleted."""


def _fields(cron: str, names: Sequence[str], example: str) -> list[str]:
    fields = cron.split()
    if len(fields) != len(names):
        raise ScheduleError(
            f"{cron!r} has {len(fields)} fields, not the {len(names)} of a schedule "
            f"({', '.join(names)}): use e.g. {example!r}."
        )
    return fields


def crontab_line(
    cron: str, report_args: Sequence[str], cwd: Path | None = None, environ: Mapping | None = None
) -> str:
    """The crontab line that runs ``n2n report *report_args`` at ``cron`` (five fields)
    with this interpreter, from ``cwd`` (default: here), appending to
    ``reports/cron.log``; ``N2N_HOME`` is kept when set."""
    fields = _fields(cron, CRONTAB_FIELDS, "0 6 * * *")
    folder = (cwd or Path.cwd()).absolute()
    environ = os.environ if environ is None else environ
    command = [str(Path(sys.executable).absolute()), "-m", "pipeline.cli", "report", *report_args]
    home = [f"N2N_HOME={shlex.quote(environ['N2N_HOME'])}"] if environ.get("N2N_HOME") else []
    log = shlex.quote(str(folder / "reports" / "cron.log"))
    line = (
        f"{' '.join(fields)} cd {shlex.quote(str(folder))} && mkdir -p reports && "
        f"{' '.join([*home, shlex.join(command)])} >> {log} 2>&1"
    )
    return line.replace("%", r"\%")  # cron reads an unescaped % as a newline


def eventbridge_cron(expression: str) -> str:
    """The six fields of an EventBridge cron expression, given as ``cron(0 6 * * ? *)``
    or bare."""
    text = expression.strip()
    inner = text[5:-1] if text.startswith("cron(") and text.endswith(")") else text
    return " ".join(_fields(inner, EVENTBRIDGE_FIELDS, "cron(0 6 * * ? *)"))


def schedule_name(stack: str) -> str:
    """The name of the report's pipeline, and of its schedule, for ``stack``."""
    return f"{stack}-report"


@dataclass(frozen=True)
class ReportSchedule:
    """What the SageMaker schedule runs: the report of ``stack`` on AWS, when and where."""

    stack: str
    cron: str
    instance_type: str = DEFAULT_INSTANCE_TYPE
    last_n: int = DEFAULT_LAST_N
    since: str = ""

    @property
    def name(self) -> str:
        """The pipeline's name, and its schedule's."""
        return schedule_name(self.stack)

    @property
    def parameters(self) -> dict[str, str]:
        """The notebook's parameters (SageMaker passes strings)."""
        return {
            "backend": "aws",
            "stack_name": self.stack,
            "last_n": str(self.last_n),
            "since": self.since,
        }


def sdk(region: str) -> SimpleNamespace:
    """The parts of the SageMaker Python SDK the schedule uses; one sentence when the
    ``sagemaker`` extra is not installed."""
    # The SDK creates a SageMaker client while it is imported, from the default region.
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    root = logging.getLogger()
    level = root.level
    try:
        from sagemaker.core import image_uris
        from sagemaker.core.helper.iam_role_resolver import RoleValidationError
        from sagemaker.core.helper.session_helper import Session
        from sagemaker.mlops.workflow import NotebookJobStep, Pipeline, PipelineSchedule
    except ImportError:
        raise ScheduleError(
            f"n2n schedule needs the SageMaker Python SDK: install the sagemaker extra "
            f"({EXTRA_HINT})."
        ) from None
    finally:
        root.setLevel(level)  # one of the SDK's modules sets the root logger to INFO
    logging.getLogger("sagemaker").setLevel(logging.WARNING)
    return SimpleNamespace(
        image_uris=image_uris,
        Session=Session,
        NotebookJobStep=NotebookJobStep,
        Pipeline=Pipeline,
        PipelineSchedule=PipelineSchedule,
        errors=(ClientError, ValueError, RoleValidationError),
    )


def distribution_image(api: SimpleNamespace, region: str, instance_type: str) -> str:
    """The SageMaker Distribution image of ``region`` (CPU), as the SDK knows it."""
    return api.image_uris.retrieve(
        framework="sagemaker-distribution",
        region=region,
        image_scope="inference",
        instance_type=instance_type,
    )


def _stage_kit(folder: Path) -> list[str]:
    """Copy the kit's sources and the initialization script into ``folder``."""
    for name in KIT_FILES:
        source = source_root() / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, folder / name)
    (folder / INIT_SCRIPT).write_text(INIT_SCRIPT_TEXT)
    return [str(folder / name) for name in KIT_FILES]


@contextmanager
def report_pipeline(
    schedule: ReportSchedule, api: SimpleNamespace, session: Any, role: str
) -> Iterator[Any]:
    """The SageMaker Pipeline of ``schedule`` (one notebook-job step), valid while the
    context is open: its files are staged in a temporary folder and uploaded to S3 when
    the definition is built (``definition()``, ``upsert()``)."""
    region = session.boto_region_name
    with tempfile.TemporaryDirectory(prefix="n2n-schedule-") as tmp:
        folder = Path(tmp)
        step = api.NotebookJobStep(
            name="report",
            notebook_job_name=schedule.name,
            display_name=f"n2n report of stack {schedule.stack}",
            input_notebook=str(find_step(REPORT_NOTEBOOK).path),
            image_uri=distribution_image(api, region, schedule.instance_type),
            kernel_name=KERNEL_NAME,
            role=role,
            instance_type=schedule.instance_type,
            parameters=schedule.parameters,
            additional_dependencies=_stage_kit(folder),
            initialization_script=str(folder / INIT_SCRIPT),
        )
        yield api.Pipeline(name=schedule.name, steps=[step], sagemaker_session=session)


def put_schedule(
    schedule: ReportSchedule, api: SimpleNamespace, session: Any, role: str
) -> dict[str, str]:
    """Create or update the pipeline and its EventBridge schedule (``role`` runs the job
    and is the role the scheduler assumes); return their ARNs."""
    trigger = api.PipelineSchedule(name=schedule.name, cron=eventbridge_cron(schedule.cron))
    try:
        with report_pipeline(schedule, api, session, role) as pipeline:
            created = pipeline.upsert(
                role_arn=role, description=f"n2n report of stack {schedule.stack}"
            )
            (schedule_arn,) = pipeline.put_triggers([trigger], role_arn=role)
    except api.errors as error:
        reason = " ".join(str(error).split()).rstrip(".")
        raise ScheduleError(f"Could not create the schedule {schedule.name}: {reason}.") from None
    return {"pipeline_arn": created["PipelineArn"], "schedule_arn": schedule_arn}


def _delete(client: Any, call: str, **params: str) -> bool:
    """Call a delete operation; False when there was nothing to delete."""
    try:
        getattr(client, call)(**params)
    except client.exceptions.ClientError as error:
        # Scheduler says ResourceNotFoundException; SageMaker a ValidationException.
        found = error.response["Error"]
        if "NotFound" in found["Code"] or MISSING.search(found.get("Message", "")):
            return False
        raise
    return True


def delete_schedule(stack: str, boto_session: Any) -> list[str]:
    """Delete the report's EventBridge schedule and SageMaker Pipeline of ``stack`` (plain
    boto3: no SDK needed); return what was deleted."""
    name = schedule_name(stack)
    deleted = {
        f"EventBridge schedule {name}": _delete(
            boto_session.client("scheduler"), "delete_schedule", Name=name
        ),
        f"SageMaker Pipeline {name}": _delete(
            boto_session.client("sagemaker"), "delete_pipeline", PipelineName=name
        ),
    }
    return [what for what, done in deleted.items() if done]
