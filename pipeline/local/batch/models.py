"""Records of the Batch engine: job statuses and reasons, the effective container of a
submitted job (its job definition with the submit's overrides applied), and the
in-memory scheduling records of jobs and their runnable units."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
TERMINAL = frozenset({"SUCCEEDED", "FAILED"})

MIN_ARRAY_SIZE = 2
MAX_ARRAY_SIZE = 10_000
MAX_DEPENDENCIES = 20

EXITED_REASON = "Essential container in task exited"
DEPENDENT_FAILED_REASON = "Dependent Job failed"
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
KILLED_EXIT_CODE = 137
"""What a container killed with SIGKILL (terminate, timeout) exits with."""

DEFAULT_LOG_GROUP = "/aws/batch/job"
CONTAINER_REASON_MAX = 255
"""The longest ``container.reason`` AWS Batch reports."""
WORKER_ERROR_EVENT = "n2n.error"


def host_terminated_reason(instance: str) -> str:
    """AWS's status reason for an attempt whose host went away (a Spot reclaim)."""
    return f"Host EC2 (instance {instance}) terminated."


def worker_reason(lines: list[tuple[int, str]]) -> str | None:
    """The reason a failed worker gave (its last ``n2n.error`` output line), as the
    container's ``reason``.

    AWS Batch fills ``container.reason`` only for what ECS saw (``OutOfMemoryError: ...``,
    ``CannotPullContainerError: ...``) and leaves the application's own words in its log
    stream; locally the worker's last error is put there too, so a run's cause names what
    happened (a full disk under ``N2N_HOME``) instead of only "Essential container in task
    exited"."""
    for _, line in reversed(lines):
        if WORKER_ERROR_EVENT not in line:
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("event") == WORKER_ERROR_EVENT:
            return str(event.get("reason") or "")[:CONTAINER_REASON_MAX] or None
    return None


def child_id(job_id: str, index: int | None) -> str:
    """The id of array child ``index`` of ``job_id`` (the job itself when not an array)."""
    return job_id if index is None else f"{job_id}:{index}"


def _named(items: list[dict], key: str, value: str) -> dict[str, str]:
    return {item[key]: item[value] for item in items}


def effective_container(request: dict[str, Any]) -> dict[str, Any]:
    """The job definition's containerProperties with the submit's containerOverrides and
    parameters (``Ref::name`` command arguments) applied."""
    definition = request["definition"]
    container = copy.deepcopy(definition.get("containerProperties") or {})
    overrides = request.get("containerOverrides") or {}
    environment = _named(container.get("environment", []), "name", "value")
    environment.update(_named(overrides.get("environment", []), "name", "value"))
    container["environment"] = [{"name": k, "value": v} for k, v in environment.items()]
    requirements = _named(container.get("resourceRequirements", []), "type", "value")
    requirements.update(_named(overrides.get("resourceRequirements", []), "type", "value"))
    if requirements:
        container["resourceRequirements"] = [
            {"type": k, "value": v} for k, v in requirements.items()
        ]
    for key in ("command", "vcpus", "memory", "instanceType"):
        if key in overrides:
            container[key] = copy.deepcopy(overrides[key])
    parameters = {**definition.get("parameters", {}), **request.get("parameters", {})}
    container["command"] = [
        parameters.get(arg[5:], arg) if arg.startswith("Ref::") else arg
        for arg in container.get("command", [])
    ]
    return container


@dataclass(frozen=True)
class JobSpec:
    """What each attempt of a submitted job runs and how it is retried and logged."""

    command: tuple[str, ...]
    environment: dict[str, str]
    vcpus: float
    attempts: int
    evaluate_on_exit: tuple[dict[str, str], ...]
    timeout_s: float | None
    log_group: str
    stream_prefix: str
    mount_points: tuple[dict[str, Any], ...]
    volumes: tuple[dict[str, Any], ...]

    @classmethod
    def from_request(cls, request: dict[str, Any]) -> JobSpec:
        """The spec of a stored submission (see ``pipeline.local.batch.client``)."""
        definition = request["definition"]
        container = effective_container(request)
        requirements = _named(container.get("resourceRequirements", []), "type", "value")
        retry = request.get("retryStrategy") or definition.get("retryStrategy") or {}
        timeout = request.get("timeout") or definition.get("timeout") or {}
        options = (container.get("logConfiguration") or {}).get("options") or {}
        return cls(
            command=tuple(container["command"]),
            environment=_named(container["environment"], "name", "value"),
            vcpus=float(requirements.get("VCPU", container.get("vcpus", 1))),
            attempts=int(retry.get("attempts", 1)),
            evaluate_on_exit=tuple(retry.get("evaluateOnExit", ())),
            timeout_s=timeout.get("attemptDurationSeconds"),
            log_group=options.get("awslogs-group", DEFAULT_LOG_GROUP),
            stream_prefix=options.get("awslogs-stream-prefix", definition["jobDefinitionName"]),
            mount_points=tuple(container.get("mountPoints", ())),
            volumes=tuple(container.get("volumes", ())),
        )


class Unit:
    """One runnable piece of work: an array child, or a job that is not an array."""

    __slots__ = (
        "attempts",
        "container",
        "dependents",
        "execution",
        "index",
        "job",
        "kill_reason",
        "reason",
        "started_at",
        "status",
        "stopped_at",
        "waiting",
    )

    def __init__(self, job: Job, index: int | None) -> None:
        self.job = job
        self.index = index
        self.status = "SUBMITTED"
        self.reason: str | None = None
        self.started_at: int | None = None
        self.stopped_at: int | None = None
        self.attempts: list[dict[str, Any]] = []
        self.container: dict[str, Any] = {}
        self.waiting = 0
        self.dependents: list[Unit] = []
        self.execution: Any = None
        self.kill_reason: str | None = None

    @property
    def job_id(self) -> str:
        """The unit's Batch job id (``parent:index`` for array children)."""
        return child_id(self.job.job_id, self.index)

    @property
    def order(self) -> tuple[int, int, int]:
        """FIFO dispatch order within a queue: created, submitted, array index."""
        return (self.job.created_at, self.job.seq, self.index or 0)


class Job:
    """A submitted job: an array parent with its children, or a single unit."""

    __slots__ = (
        "command",
        "created_at",
        "dependents",
        "environment",
        "failed",
        "final_batch",
        "job_id",
        "name",
        "queue",
        "reason",
        "remaining",
        "seq",
        "size",
        "spec",
        "started_at",
        "status",
        "stopped_at",
        "units",
    )

    def __init__(self, row: dict[str, Any], spec: JobSpec) -> None:
        self.seq: int = row["seq"]
        self.job_id: str = row["job_id"]
        self.name: str = row["name"]
        self.queue: str = row["queue"]
        self.size: int | None = row["array_size"]
        self.created_at: int = row["created_at"]
        self.status: str = row["status"]
        self.reason: str | None = row["status_reason"]
        self.started_at: int | None = row["started_at"]
        self.stopped_at: int | None = row["stopped_at"]
        self.spec = spec
        self.units = [Unit(self, i) for i in range(self.size)] if self.size else [Unit(self, None)]
        self.remaining = len(self.units)
        self.failed = False
        self.dependents: list[Job] = []
        self.environment: dict[str, str] = {}
        self.command: list[str] = list(spec.command)
        self.final_batch: int | None = None

    @property
    def is_array(self) -> bool:
        """Whether the job is an array parent."""
        return self.size is not None
