"""Deterministic zips keyed by content hash; uploads skipped when the key exists."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from pipeline.deploy.aws.errors import BuildError
from pipeline.deploy.aws.package import Artifact, container_source, lambda_code, upload
from pipeline.deploy.aws.session import AwsSession


def _names(artifact: Artifact) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(artifact.data)).namelist()


def test_same_sources_give_the_same_bytes(project: Path):
    first = lambda_code(project)
    os.utime(project / "pipeline/__init__.py", (1_000_000_000, 1_000_000_000))
    (project / "pipeline/__init__.py").chmod(0o600)
    second = lambda_code(project)
    assert first.data == second.data
    assert first.key == second.key == f"lambda/{first.digest}.zip"


def test_a_changed_file_changes_the_hash(project: Path):
    before = container_source(project)
    (project / "containers/worker/Dockerfile").write_text("FROM python:3.13-slim\n")
    after = container_source(project)
    assert before.digest != after.digest
    assert after.key.startswith("source/")


def test_entries_are_sorted_with_fixed_times_and_modes(project: Path):
    archive = zipfile.ZipFile(io.BytesIO(container_source(project).data))
    names = archive.namelist()
    assert names == sorted(names)
    assert names == [
        "containers/buildspec.yml",
        "containers/worker/Dockerfile",
        "pipeline/__init__.py",
        "pipeline/handlers/prepare.py",
        "pyproject.toml",
    ]
    for info in archive.infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644


def test_lambda_code_is_the_package_without_tests_or_caches(project: Path):
    assert _names(lambda_code(project)) == ["pipeline/__init__.py", "pipeline/handlers/prepare.py"]


def test_missing_source_path_says_where_to_run(project: Path):
    (project / "pyproject.toml").unlink()
    with pytest.raises(BuildError, match=r"pyproject.toml is missing: run the deploy from"):
        container_source(project)


def test_upload_skips_an_existing_key(aws: AwsSession):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="artifacts")
    artifact = Artifact("lambda", b"code")
    assert upload(s3, "artifacts", artifact) == artifact.key
    s3.put_object(Bucket="artifacts", Key=artifact.key, Body=b"marker")
    upload(s3, "artifacts", artifact)
    assert s3.get_object(Bucket="artifacts", Key=artifact.key)["Body"].read() == b"marker"
