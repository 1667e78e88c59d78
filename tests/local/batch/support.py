"""Shared helpers of the Batch and Logs tests: a local client, registrations, an engine
running in a thread, waiting."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.local.batch import client as batch_module
from pipeline.local.batch.client import BatchClient
from pipeline.local.batch.engine import BatchEngine
from pipeline.local.batch.models import TERMINAL
from tests.waiting import wait_until

WORKER = ["python", "-m", "pipeline.worker"]


def local_batch(home: Path, monkeypatch: Any) -> BatchClient:
    """A batch client whose submits do not start a detached runner (the test runs the
    engine itself)."""
    monkeypatch.setattr(batch_module, "ensure_runner", lambda home: None)
    return BatchClient(home)


@contextmanager
def running_engine(home: Path, max_workers: int = 2) -> Iterator[BatchEngine]:
    """A BatchEngine dispatching in a background thread until the block ends."""
    engine = BatchEngine(home, max_workers=max_workers)
    stop = threading.Event()
    thread = threading.Thread(target=engine.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive(), "the engine did not stop"


def add_queue(client: BatchClient, name: str, max_vcpus: int = 4, priority: int = 1) -> str:
    """A compute environment of ``max_vcpus`` and a queue on it; returns the queue name."""
    client.create_compute_environment(
        computeEnvironmentName=f"{name}-ce",
        type="MANAGED",
        computeResources={"type": "FARGATE", "maxvCpus": max_vcpus, "subnets": ["subnet-1"]},
    )
    client.create_job_queue(
        jobQueueName=name,
        priority=priority,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": f"{name}-ce"}],
    )
    return name


def shell(script: str) -> list[str]:
    """A command running ``script`` with this interpreter (a subprocess child)."""
    return [sys.executable, "-c", script]


def register(
    client: BatchClient,
    name: str,
    command: list[str],
    *,
    environment: dict[str, str] | None = None,
    vcpus: str = "1",
    retry: dict | None = None,
    timeout: int | None = None,
    **container: Any,
) -> str:
    """Register a Fargate-style job definition; return its ARN."""
    properties = {
        "image": "local",
        "command": command,
        "environment": [{"name": k, "value": v} for k, v in (environment or {}).items()],
        "resourceRequirements": [
            {"type": "VCPU", "value": vcpus},
            {"type": "MEMORY", "value": "512"},
        ],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/n2n/test", "awslogs-stream-prefix": name},
        },
        **container,
    }
    params: dict[str, Any] = {
        "jobDefinitionName": name,
        "type": "container",
        "containerProperties": properties,
        "platformCapabilities": ["FARGATE"],
    }
    if retry:
        params["retryStrategy"] = retry
    if timeout:
        params["timeout"] = {"attemptDurationSeconds": timeout}
    return client.register_job_definition(**params)["jobDefinitionArn"]


def wait_done(client: BatchClient, job_id: str, timeout: float = 60.0) -> dict:
    """The job's description once it is SUCCEEDED or FAILED (and its children written)."""

    def done() -> dict | None:
        (job,) = client.describe_jobs(jobs=[job_id])["jobs"]
        summary = job.get("arrayProperties", {}).get("statusSummary")
        children_done = (
            summary is None or sum(summary[s] for s in TERMINAL) == job["arrayProperties"]["size"]
        )
        return job if job["status"] in TERMINAL and children_done else None

    return wait_until(
        done, deadline=timeout, describe=lambda: client.describe_jobs(jobs=[job_id])["jobs"]
    )


def children(client: BatchClient, job_id: str, size: int) -> list[dict]:
    """Every child of an array job, described, in index order."""
    ids = [f"{job_id}:{i}" for i in range(size)]
    return [
        job
        for start in range(0, size, 100)
        for job in client.describe_jobs(jobs=ids[start : start + 100])["jobs"]
    ]
