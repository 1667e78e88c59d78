"""A child's environment and the mapping of container paths to local folders.

Values at or under a mount point's ``containerPath`` point at the volume's local folder
(``host.sourcePath``, or ``{home}/efs/{fileSystemId}{rootDirectory}`` for EFS).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.local.batch.models import JobSpec
from pipeline.local.core.home import efs_folder
from pipeline.local.worker_clients import worker_environment

VOLUME_FOLDERS: dict[str, Callable[[Path, dict[str, Any], str], Path]] = {
    "efsVolumeConfiguration": lambda home, conf, _name: efs_folder(
        home, conf["fileSystemId"], conf.get("rootDirectory", "/")
    ),
    "host": lambda home, conf, name: (
        Path(conf["sourcePath"]) if conf.get("sourcePath") else home / "volumes" / name
    ),
}
"""The local folder of a job definition volume, by the volume's kind."""


def volume_folder(home: Path, volume: dict[str, Any]) -> Path:
    """The local folder standing in for ``volume``."""
    for kind, folder in VOLUME_FOLDERS.items():
        if kind in volume:
            return folder(Path(home), volume[kind] or {}, volume.get("name", ""))
    return Path(home) / "volumes" / volume.get("name", "")


def mount_table(home: Path, spec: JobSpec) -> list[tuple[str, str]]:
    """(containerPath, local folder) of each mount point, longest container path first."""
    folders = {volume.get("name"): volume_folder(home, volume) for volume in spec.volumes}
    table = [
        (mount["containerPath"].rstrip("/") or "/", str(folders[mount["sourceVolume"]]))
        for mount in spec.mount_points
        if mount.get("sourceVolume") in folders and mount.get("containerPath")
    ]
    return sorted(table, key=lambda pair: len(pair[0]), reverse=True)


def local_value(value: str, mounts: Sequence[tuple[str, str]]) -> str:
    """``value`` with a container path replaced by its local folder."""
    for container_path, folder in mounts:
        if value == container_path:
            return folder
        if value.startswith(container_path + "/"):
            return folder + value[len(container_path) :]
    return value


def job_environment(home: Path, spec: JobSpec) -> dict[str, str]:
    """The job's environment (definition + overrides) with paths mapped to local folders,
    and its AWS clients routed to the local backend."""
    mounts = mount_table(home, spec)
    environment = {name: local_value(v, mounts) for name, v in spec.environment.items()}
    return {**environment, **worker_environment(home)}


def job_command(home: Path, spec: JobSpec) -> list[str]:
    """The job's command with paths mapped to local folders."""
    mounts = mount_table(home, spec)
    return [local_value(arg, mounts) for arg in spec.command]


def child_environment(
    base: dict[str, str],
    job_id: str,
    index: int | None,
    size: int | None,
    attempt: int,
    queue: str,
    compute_environment: str,
) -> dict[str, str]:
    """One attempt's environment: the job's plus the variables Batch sets."""
    environment = dict(base)
    environment["AWS_BATCH_JOB_ID"] = job_id
    environment["AWS_BATCH_JOB_ATTEMPT"] = str(attempt)
    environment["AWS_BATCH_JQ_NAME"] = queue
    environment["AWS_BATCH_CE_NAME"] = compute_environment
    if index is not None:
        environment["AWS_BATCH_JOB_ARRAY_INDEX"] = str(index)
        environment["AWS_BATCH_JOB_ARRAY_SIZE"] = str(size)
    return environment
