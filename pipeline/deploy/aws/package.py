"""Deterministic deploy artifacts, stored in the artifact bucket under their content hash.

The same sources always give the same bytes (sorted entries, fixed timestamps and
permissions), so an unchanged package keeps its S3 key, its image tag and — through
them — a stack that needs no update.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from pipeline.deploy.aws.errors import BuildError

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
SKIPPED_DIRS = frozenset({"__pycache__", "tests", "node_modules"})
SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo"})
SOURCE_PATHS = ("pyproject.toml", "pipeline", "containers")


@dataclass(frozen=True)
class Artifact:
    """Bytes to store in the artifact bucket under ``{prefix}/{sha256}{suffix}``."""

    prefix: str
    data: bytes
    suffix: str = ".zip"

    @cached_property
    def digest(self) -> str:
        """The SHA-256 of the bytes, hex: the content hash in keys and image tags."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def key(self) -> str:
        """The S3 key of the artifact."""
        return f"{self.prefix}/{self.digest}{self.suffix}"


def _skipped(relative: Path) -> bool:
    hidden = any(part.startswith(".") for part in relative.parts)
    cached = any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in relative.parts)
    return hidden or cached or relative.suffix in SKIPPED_SUFFIXES


def source_files(root: Path, paths: tuple[str, ...]) -> dict[str, Path]:
    """The files under ``paths`` (relative to ``root``), keyed by their POSIX archive name,
    without caches, tests and hidden files; a missing path is a :class:`BuildError`."""
    files: dict[str, Path] = {}
    for name in paths:
        path = root / name
        if not path.exists():
            raise BuildError(f"{path} is missing: run the deploy from a checkout of n2n-kit.")
        candidates: Iterator[Path] = path.rglob("*") if path.is_dir() else iter([path])
        for file in candidates:
            relative = file.relative_to(root)
            if file.is_file() and not _skipped(relative):
                files[relative.as_posix()] = file
    return files


def zip_bytes(files: Mapping[str, Path]) -> bytes:
    """A zip of ``files`` (archive name → path) that depends on their contents only."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = FILE_MODE << 16
            info.create_system = 3
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name].read_bytes(), compresslevel=9)
    return buffer.getvalue()


def lambda_code(root: Path) -> Artifact:
    """The Lambda code zip: the ``pipeline`` package at the zip root."""
    return Artifact("lambda", zip_bytes(source_files(root, ("pipeline",))))


def container_source(root: Path) -> Artifact:
    """The CodeBuild source zip: ``pyproject.toml``, ``pipeline/`` and ``containers/``."""
    return Artifact("source", zip_bytes(source_files(root, SOURCE_PATHS)))


def upload(s3: Any, bucket: str, artifact: Artifact) -> str:
    """Store ``artifact`` in ``bucket`` unless its key is already there; return the key."""
    try:
        s3.head_object(Bucket=bucket, Key=artifact.key)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
        s3.put_object(Bucket=bucket, Key=artifact.key, Body=artifact.data)
    return artifact.key
