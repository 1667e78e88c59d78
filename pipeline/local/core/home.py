"""Where the local backend keeps what AWS keeps in services: buckets and file systems as
folders under ``N2N_HOME``."""

from __future__ import annotations

from pathlib import Path

S3_SCHEME = "s3://"


def bucket_folder(home: Path, bucket: str = "") -> Path:
    """The folder of a local bucket (or of all buckets)."""
    return Path(home) / "s3" / bucket if bucket else Path(home) / "s3"


def efs_folder(home: Path, file_system_id: str, root_directory: str = "/") -> Path:
    """The folder of a local file system, or of a directory inside it."""
    return Path(home) / "efs" / file_system_id / root_directory.strip("/")


def local_url(value: str, home: Path) -> str:
    """An ``s3://bucket/key`` value as the ``file://`` URL of the local bucket folder."""
    if not value.startswith(S3_SCHEME):
        return value
    bucket, _, key = value[len(S3_SCHEME) :].partition("/")
    url = bucket_folder(home, bucket).as_uri() + "/"
    return url + key
