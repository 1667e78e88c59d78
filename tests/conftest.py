"""Shared fixtures: no test may reach AWS, so every test gets fake credentials and a region."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.local.e2e import TEST_ENVIRONMENT, LocalStack, stop_runner


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a region; no profile or config file from the developer's home."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def n2n_home(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A private N2N_HOME for the local backend."""
    home = tmp_path / "n2n-home"
    monkeypatch.setenv("N2N_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def local_env():
    """Runner and time-scale settings for a module of local runs (restored afterwards)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in TEST_ENVIRONMENT.items():
            patch.setenv(name, value)
        yield patch


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory, local_env):
    """The pipeline stack deployed on a private local home; its runner is killed at the end."""
    home = tmp_path_factory.mktemp("home")
    local_env.setenv("N2N_HOME", str(home))
    yield LocalStack(home)
    stop_runner(home)


@pytest.fixture
def local_bucket(tmp_path):
    """An ``s3://egress/`` bucket on a private local backend, with ``pipeline.clients``
    routed to it for the test: ``.url``, ``.folder`` (the bucket's folder), ``.home``."""
    from pipeline import clients
    from pipeline.local import local_client
    from pipeline.local.core.home import bucket_folder

    home = tmp_path / "bucket-home"
    local_client("s3", home).create_bucket(Bucket="egress")
    clients.set_client_factory(lambda service: local_client(service, home))
    try:
        yield SimpleNamespace(url="s3://egress/", folder=bucket_folder(home, "egress"), home=home)
    finally:
        clients.set_client_factory(None)
