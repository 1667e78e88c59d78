"""The local ``s3`` client: buckets are folders under ``{home}/s3/``, keys are paths.

Writes are atomic, so a reader sees a whole object or none. Hidden files (temp files of an
atomic write in progress) are not objects.
"""

from __future__ import annotations

import hashlib
import io
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.response import StreamingBody

from pipeline.layout import atomic_write_bytes
from pipeline.local.core.client import LocalClient
from pipeline.local.core.home import bucket_folder

LIST_LIMIT = 1000


class S3Client(LocalClient):
    """Buckets and objects of the local backend, in the shapes the S3 API documents."""

    service_name = "s3"

    def _bucket(self, operation: str, bucket: str) -> Path:
        path = bucket_folder(self.home, bucket)
        if not path.is_dir():
            raise self.error(operation, "NoSuchBucket", "The specified bucket does not exist", 404)
        return path

    def _object(self, operation: str, bucket: str, key: str) -> Path:
        path = self._bucket(operation, bucket) / key
        if not path.is_file():
            if operation == "HeadObject":
                raise self.error(operation, "404", "Not Found", 404)
            raise self.error(operation, "NoSuchKey", "The specified key does not exist.", 404)
        return path

    @staticmethod
    def _etag(payload: bytes) -> str:
        return f'"{hashlib.md5(payload, usedforsecurity=False).hexdigest()}"'

    @staticmethod
    def _modified(path: Path) -> datetime:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)

    def create_bucket(self, **params: Any) -> dict[str, Any]:
        """Create a bucket folder."""
        self.validate("CreateBucket", params)
        path = bucket_folder(self.home, params["Bucket"])
        if path.is_dir():
            raise self.error(
                "CreateBucket",
                "BucketAlreadyOwnedByYou",
                "Your previous request to create "
                "the named bucket succeeded and you already own it.",
                409,
            )
        path.mkdir(parents=True)
        return {"Location": f"/{params['Bucket']}"}

    def delete_bucket(self, **params: Any) -> dict[str, Any]:
        """Delete an empty bucket."""
        self.validate("DeleteBucket", params)
        path = self._bucket("DeleteBucket", params["Bucket"])
        if any(p.is_file() for p in path.rglob("*")):
            raise self.error(
                "DeleteBucket", "BucketNotEmpty", "The bucket you tried to delete is not empty", 409
            )
        shutil.rmtree(path)
        return {}

    def put_object(self, **params: Any) -> dict[str, Any]:
        """Store an object atomically."""
        self.validate("PutObject", params)
        body = params.get("Body", b"")
        payload = body.read() if hasattr(body, "read") else body
        payload = payload.encode() if isinstance(payload, str) else bytes(payload)
        bucket = self._bucket("PutObject", params["Bucket"])
        atomic_write_bytes(bucket / params["Key"], payload)
        return {"ETag": self._etag(payload)}

    def head_object(self, **params: Any) -> dict[str, Any]:
        """An object's size, ETag and modification time."""
        self.validate("HeadObject", params)
        path = self._object("HeadObject", params["Bucket"], params["Key"])
        payload = path.read_bytes()
        return {
            "ContentLength": len(payload),
            "ETag": self._etag(payload),
            "LastModified": self._modified(path),
            "ContentType": "application/octet-stream",
        }

    def get_object(self, **params: Any) -> dict[str, Any]:
        """An object's bytes as a streaming body."""
        self.validate("GetObject", params)
        path = self._object("GetObject", params["Bucket"], params["Key"])
        payload = path.read_bytes()
        return {
            "Body": StreamingBody(io.BytesIO(payload), len(payload)),
            "ContentLength": len(payload),
            "ETag": self._etag(payload),
            "LastModified": self._modified(path),
            "ContentType": "application/octet-stream",
        }

    def delete_object(self, **params: Any) -> dict[str, Any]:
        """Delete an object (absent objects are fine, as on S3)."""
        self.validate("DeleteObject", params)
        (self._bucket("DeleteObject", params["Bucket"]) / params["Key"]).unlink(missing_ok=True)
        return {}

    def delete_objects(self, **params: Any) -> dict[str, Any]:
        """Delete up to 1,000 objects."""
        self.validate("DeleteObjects", params)
        bucket = self._bucket("DeleteObjects", params["Bucket"])
        deleted = []
        for item in params["Delete"]["Objects"]:
            (bucket / item["Key"]).unlink(missing_ok=True)
            deleted.append({"Key": item["Key"]})
        return {} if params["Delete"].get("Quiet") else {"Deleted": deleted}

    def list_objects_v2(self, **params: Any) -> dict[str, Any]:
        """List keys in UTF-8 order with Prefix, Delimiter, StartAfter and continuation."""
        self.validate("ListObjectsV2", params)
        bucket = self._bucket("ListObjectsV2", params["Bucket"])
        prefix = params.get("Prefix", "")
        delimiter = params.get("Delimiter", "")
        limit = min(params.get("MaxKeys", LIST_LIMIT), LIST_LIMIT)
        after = params.get("ContinuationToken") or params.get("StartAfter", "")
        keys = sorted(
            p.relative_to(bucket).as_posix()
            for p in self._candidates(bucket, prefix)
            if p.is_file() and not p.name.startswith(".")
        )
        contents, prefixes, truncated, last = [], [], False, ""
        for key in (k for k in keys if k.startswith(prefix) and k > after):
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            entry = key[: cut + len(delimiter)] if cut >= 0 else key
            if cut >= 0 and prefixes and prefixes[-1] == entry:
                continue
            if len(contents) + len(prefixes) == limit:
                truncated = True
                break
            last = key if cut < 0 else entry + "\uffff"
            if cut >= 0:
                prefixes.append(entry)
            else:
                stat = (bucket / key).stat()
                contents.append(
                    {
                        "Key": key,
                        "Size": stat.st_size,
                        "LastModified": datetime.fromtimestamp(stat.st_mtime, UTC),
                        "ETag": '"-"',
                        "StorageClass": "STANDARD",
                    }
                )
        response: dict[str, Any] = {
            "Name": params["Bucket"],
            "Prefix": prefix,
            "MaxKeys": limit,
            "KeyCount": len(contents) + len(prefixes),
            "IsTruncated": truncated,
        }
        if contents:
            response["Contents"] = contents
        if prefixes:
            response["CommonPrefixes"] = [{"Prefix": p} for p in prefixes]
        if delimiter:
            response["Delimiter"] = delimiter
        if params.get("ContinuationToken"):
            response["ContinuationToken"] = params["ContinuationToken"]
        if truncated:
            response["NextContinuationToken"] = last
        return response

    @staticmethod
    def _candidates(bucket: Path, prefix: str):
        folder = bucket / prefix.rsplit("/", 1)[0] if "/" in prefix else bucket
        return folder.rglob("*") if folder.is_dir() else ()
