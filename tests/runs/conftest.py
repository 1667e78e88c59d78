"""A stack whose children get one attempt, so injected failures leave holes to rerun."""

from __future__ import annotations

import pytest

from tests.local.e2e import LocalStack, stop_runner


@pytest.fixture(scope="module")
def one_attempt_stack(tmp_path_factory, local_env):
    """The pipeline deployed with RetryAttempts=1 on a private home (N2N_HOME points at it)."""
    home = tmp_path_factory.mktemp("home")
    local_env.setenv("N2N_HOME", str(home))
    yield LocalStack(home, name="n2n", RetryAttempts="1")
    stop_runner(home)
