"""The egress side of a run, read through any backend's ``s3`` client: result objects,
the ids they cover and the run summary the watch Lambda writes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any


def result_keys(conn: Any, bucket: str, workflow_id: str) -> Iterator[str]:
    """Every result object key of the workflow, in index order."""
    pages = conn.s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"{workflow_id}/results/"
    )
    for page in pages:
        for item in page.get("Contents", []):
            yield item["Key"]


def read_json_object(conn: Any, bucket: str, key: str) -> Any:
    """One JSON object of the bucket."""
    return json.loads(conn.s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def id_counts(conn: Any, bucket: str, workflow_id: str) -> Counter:
    """How many times each id appears across the workflow's result objects."""
    counts: Counter = Counter()
    for key in result_keys(conn, bucket, workflow_id):
        counts.update(item["id"] for item in read_json_object(conn, bucket, key)["results"])
    return counts


def run_summary(conn: Any, bucket: str, workflow_id: str) -> dict[str, Any] | None:
    """The ``_SUMMARY.json`` the watch Lambda wrote when the run ended, or None."""
    try:
        return read_json_object(conn, bucket, f"{workflow_id}/_SUMMARY.json")
    except conn.s3.exceptions.NoSuchKey:
        return None
