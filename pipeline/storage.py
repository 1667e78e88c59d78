"""Egress stores, picked by the scheme of ``EGRESS_URL`` from a registry.

``s3://bucket/prefix/`` on AWS, ``file:///path/`` for a folder standing in for a bucket
(the local backend). Keys are relative to the URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from pipeline.errors import StorageError
from pipeline.layout import atomic_write_bytes


class EgressStore(Protocol):
    """What the worker and the watch Lambda need of an object store."""

    def put(self, key: str, payload: bytes) -> None:
        """Store ``payload`` under ``key``, replacing any object there."""

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is no such object."""

    def get(self, key: str) -> bytes:
        """The object's bytes."""

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``."""


_STORES: dict[str, Callable[[str], EgressStore]] = {}


def register(scheme: str, factory: Callable[[str], EgressStore]) -> None:
    """Make ``open_store`` use ``factory`` for URLs of ``scheme`` (``"s3"``, ``"file"``)."""
    _STORES[scheme] = factory


def open_store(url: str) -> EgressStore:
    """The egress store for ``url``."""
    scheme = urlparse(url).scheme
    if scheme not in _STORES:
        raise StorageError(
            f"EGRESS_URL {url!r} has no known scheme: use one of "
            f"{', '.join(s + '://' for s in sorted(_STORES))}."
        )
    return _STORES[scheme](url)


class FileStore:
    """A folder standing in for a bucket; writes are atomic."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.root = Path(unquote(parsed.netloc + parsed.path))

    def _path(self, key: str) -> Path:
        return self.root / key

    def put(self, key: str, payload: bytes) -> None:
        atomic_write_bytes(self._path(key), payload)

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        folder = base if prefix.endswith("/") or base.is_dir() else base.parent
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and key.startswith(prefix) and not path.name.startswith("."):
                yield key


class S3Store:
    """An S3 prefix, through a boto3 client with adaptive retries."""

    def __init__(self, url: str) -> None:
        from pipeline.clients import client

        parsed = urlparse(url)
        self.bucket = parsed.netloc
        self.prefix = parsed.path.lstrip("/")
        self.s3 = client("s3")

    def put(self, key: str, payload: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=payload)

    def size(self, key: str) -> int | None:
        try:
            return self.s3.head_object(Bucket=self.bucket, Key=self.prefix + key)["ContentLength"]
        except self.s3.exceptions.ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()

    def keys(self, prefix: str) -> Iterator[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix) :]


register("file", FileStore)
register("s3", S3Store)
