"""Where the local backend keeps its state: ``N2N_HOME``, with buckets and file systems as
folders in it."""

from __future__ import annotations

import os
from pathlib import Path


def default_home() -> Path:
    """``$N2N_HOME``, else ``~/.local/state/n2n``."""
    return Path(os.environ.get("N2N_HOME") or Path.home() / ".local" / "state" / "n2n")


def bucket_folder(home: Path, bucket: str = "") -> Path:
    """The folder of a local bucket (or of all buckets)."""
    return Path(home) / "s3" / bucket if bucket else Path(home) / "s3"


def efs_folder(home: Path, file_system_id: str, root_directory: str = "/") -> Path:
    """The folder of a local file system, or of a directory inside it."""
    return Path(home) / "efs" / file_system_id / root_directory.strip("/")
