"""Fixtures of the local end-to-end tests: one deployed home per module."""

from __future__ import annotations

import pytest

from tests.local.e2e import TEST_ENVIRONMENT, LocalStack, stop_runner


@pytest.fixture(scope="module")
def local_env():
    """Runner and time-scale settings for the module (restored afterwards)."""
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
