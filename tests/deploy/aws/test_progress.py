"""Progress while a waiter blocks: a poll that fails is not swallowed."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ClientError

from pipeline.deploy.aws.progress import polling

DENIED = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}


def test_a_failed_poll_is_raised_when_the_wait_ends():
    failed = threading.Event()
    calls = []

    def poll() -> None:
        calls.append(1)
        if len(calls) == 1:
            failed.set()
            raise ClientError(DENIED, "DescribeStackEvents")

    with pytest.raises(ClientError, match="AccessDenied"), polling(poll, 0.01):
        assert failed.wait(30), "the poll never ran"
    assert len(calls) == 2  # the failed poll, then the last one when the wait ended


def test_the_waits_own_error_wins_and_the_last_state_is_shown():
    calls = []
    with pytest.raises(RuntimeError, match="waiter failed"), polling(lambda: calls.append(1), 60):
        raise RuntimeError("waiter failed")
    assert calls == [1]
