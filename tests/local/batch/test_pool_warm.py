"""Warm worker processes: the engine starts them while it has nothing to dispatch, so a
run's first children do not each wait for a process to boot, and attempts use them."""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.local.batch.pool import AttemptPool
from tests.local.batch.support import WORKER, add_queue, local_batch, running_engine
from tests.waiting import wait_until


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def worker_processes() -> set[int]:
    """Live processes forked by this test process's forkserver (its worker processes)."""
    pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    servers = {
        pid
        for pid in pids
        if _parent(pid) == os.getpid()
        and b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    }
    return {pid for pid in pids if _parent(pid) in servers}


def test_a_grown_pool_runs_attempts_on_the_processes_it_started():
    pool = AttemptPool()
    pool.warm()
    before = worker_processes()
    try:
        assert [pool.grow(2) for _ in range(3)] == [True, True, False]
        started = worker_processes() - before
        assert len(started) == 2
        attempts = [pool.start([*WORKER, "no-such-step"], {}) for _ in range(2)]
        assert {int(attempt.instance.removeprefix("local-")) for attempt in attempts} == started
        for attempt in attempts:
            outcome = wait_until(attempt.collect)
            assert outcome.exit_code != 0
        assert pool.grow(2) is False  # the two are idle again, none more is needed
    finally:
        pool.close()
    assert not worker_processes() & started


def test_an_idle_engine_starts_a_worker_for_every_slot_of_its_environments(n2n_home, monkeypatch):
    batch = local_batch(n2n_home, monkeypatch)
    add_queue(batch, "wide", max_vcpus=16)
    add_queue(batch, "narrow", max_vcpus=16)
    before = worker_processes()
    with running_engine(n2n_home, max_workers=3):
        # two environments of up to 3 children each, and nothing submitted
        wait_until(lambda: len(worker_processes() - before) == 6, describe=worker_processes)
