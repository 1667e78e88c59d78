"""The engine's doorbell: a submit wakes the engine instead of waiting for its next poll."""

from __future__ import annotations

import selectors
import socket
import tempfile
from pathlib import Path

import pytest

from pipeline.local.batch import engine as engine_module
from pipeline.local.batch.doorbell import DOORBELL_FILE, Doorbell, open_doorbell, ring

from .support import add_queue, local_batch, register, running_engine, shell, wait_done

DEADLINE_S = 30.0


@pytest.fixture
def home():
    """A home with a short path (a socket's name is limited to about 100 bytes)."""
    with tempfile.TemporaryDirectory(prefix="n2n-") as folder:
        yield Path(folder)


def rung(doorbell: Doorbell, timeout: float) -> bool:
    with selectors.DefaultSelector() as selector:
        selector.register(doorbell.fileno(), selectors.EVENT_READ)
        return bool(selector.select(timeout))


def test_a_ring_wakes_the_listener_until_cleared(home):
    doorbell = Doorbell(home)
    try:
        assert not rung(doorbell, 0)
        ring(home)
        ring(home)
        assert rung(doorbell, DEADLINE_S)
        doorbell.clear()
        assert not rung(doorbell, 0)
    finally:
        doorbell.close()
    assert not (home / DOORBELL_FILE).exists()


def test_a_ring_nobody_hears_is_dropped(home):
    ring(home)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(home / DOORBELL_FILE))
    stale.close()  # what an engine killed with SIGKILL leaves behind
    ring(home)


def test_an_old_engine_closing_leaves_the_new_doorbell(home):
    old = Doorbell(home)
    new = Doorbell(home)
    try:
        old.close()
        ring(home)
        assert rung(new, DEADLINE_S)
    finally:
        new.close()


def test_a_home_too_long_for_a_socket_name_has_no_doorbell(home):
    deep = home / ("d" * 120)
    deep.mkdir()
    assert open_doorbell(deep) is None


def test_a_submit_wakes_an_engine_that_would_not_poll_for_an_hour(home, monkeypatch):
    monkeypatch.setattr(engine_module, "POLL_S", 3600.0)
    client = local_batch(home, monkeypatch)
    add_queue(client, "q")
    register(client, "echo", shell("print('hello')"))
    submit = {"jobQueue": "q", "jobDefinition": "echo"}
    with running_engine(home):
        first = client.submit_job(jobName="first", **submit)["jobId"]
        assert wait_done(client, first, DEADLINE_S)["status"] == "SUCCEEDED"
        # The engine polled once when it started; only a ring can bring it this job.
        second = client.submit_job(jobName="second", **submit)["jobId"]
        assert wait_done(client, second, DEADLINE_S)["status"] == "SUCCEEDED"
