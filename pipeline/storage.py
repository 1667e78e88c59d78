"""Egress stores, picked by the scheme of ``EGRESS_URL`` from a registry.

``s3://bucket/prefix/``, through the one client factory (:mod:`pipeline.clients`): boto3
on AWS, the local backend's bucket folders when it runs the code. Keys are relative to
the URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol
from urllib.parse import urlparse

from pipeline.errors import StorageError


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
    """Make ``open_store`` use ``factory`` for URLs of ``scheme`` (``"s3"``)."""
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


register("s3", S3Store)
