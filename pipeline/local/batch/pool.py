"""Where attempts run: long-lived worker processes for in-process entry points, a
subprocess for any other command.

A command ``python -m MODULE ARGS`` whose MODULE is in :data:`IN_PROCESS_ENTRY_POINTS`
runs inside a worker process that imported the entry point once and loops over tasks
received over a pipe; its output lines come back with the exit code. A task may be queued
behind the one a worker process runs (:meth:`AttemptPool.queue_after`): it starts when that
one ends, and the result of that one says whether it did. Worker processes
come from multiprocessing's forkserver (safe in the threaded runner); like any
forkserver child they import the caller's ``__main__``, so a script that runs the engine
in-process needs the usual ``if __name__ == "__main__":`` guard. Every execution is
waitable (``fileno``) so the engine multiplexes them with
``multiprocessing.connection.wait``.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import io
import itertools
import multiprocessing
import multiprocessing.forkserver
import os
import re
import signal
import subprocess
import time
import traceback
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

IN_PROCESS_ENTRY_POINTS: dict[str, str] = {"pipeline.worker": "pipeline.worker.main:main"}
"""``python -m MODULE`` → ``module:function(argv, environ, out) -> exit code``."""

PRELOAD = [
    *(name.partition(":")[0] for name in IN_PROCESS_ENTRY_POINTS.values()),
    "pipeline.local.worker_clients",
    "pipeline.local.batch.worker_preload",
]
START_METHOD = "forkserver"
"""Worker processes fork from a clean server process, never from the threaded engine."""
WORKER_NICENESS = 5
"""Workers yield the CPU to the engine that feeds them: on a machine with fewer cores than
slots, a starved engine would leave slots idle between children."""
PYTHON = re.compile(r"python(3(\.\d+)?)?")


def _ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Outcome:
    """How one attempt ended: exit code (None when its host went away) and output lines."""

    exit_code: int | None
    started_at: int
    stopped_at: int
    lines: list[tuple[int, str]] = field(default_factory=list)
    host_lost: bool = False


class Attempt(Protocol):
    """One running attempt."""

    instance: str
    started_at: int
    successor: Attempt | None
    """After ``collect``: the attempt queued behind this one that started in its place."""

    def fileno(self) -> int:
        """A descriptor that becomes readable when ``collect`` has something to do."""

    def collect(self) -> Outcome | None:
        """Read what is ready; the Outcome once the attempt ended, else None."""

    def kill(self) -> None:
        """Stop the attempt at once."""


def in_process_entry(command: Sequence[str]) -> tuple[str, list[str]] | None:
    """(entry point, argv) when ``command`` runs an in-process module, else None."""
    if (
        len(command) >= 3
        and PYTHON.fullmatch(os.path.basename(command[0]))
        and command[1] == "-m"
        and command[2] in IN_PROCESS_ENTRY_POINTS
    ):
        return IN_PROCESS_ENTRY_POINTS[command[2]], list(command[3:])
    return None


class _LineSink(io.TextIOBase):
    """A text stream that keeps each finished line with its epoch-ms timestamp."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *done, self._partial = (self._partial + text).split("\n")
        if done:
            stamp = _ms()
            self.lines.extend((stamp, line) for line in done)
        return len(text)

    def close_lines(self) -> list[tuple[int, str]]:
        """Every line, the unfinished last one included."""
        if self._partial:
            self.lines.append((_ms(), self._partial))
            self._partial = ""
        return self.lines


def _entry(name: str, cache: dict[str, Any]) -> Any:
    if name not in cache:
        module, _, function = name.partition(":")
        cache[name] = getattr(importlib.import_module(module), function)
    return cache[name]


class _Tasks:
    """A worker process's side of the pipe: the tasks sent to it, in order, less those
    withdrawn before they started and those queued behind a task whose result already
    said nothing follows it (the engine counts them as never started)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.queued: collections.deque[tuple[int, str, list[str], dict[str, str]]] = (
            collections.deque()
        )
        self.withdrawn: set[int] = set()
        self.running: int | None = None
        """The task running, or whose result is being written: tasks may queue behind it
        (or behind one still queued)."""

    def read(self, wait: bool) -> None:
        """Take every message already sent (and, with ``wait``, block for one first)."""
        while (wait and not self.queued) or self.connection.poll():
            kind, task_id, *task = self.connection.recv()
            if kind == "withdraw":
                self.withdrawn.add(task_id)
                continue
            after, *task = task
            if after is None or after == self.running or any(q[0] == after for q in self.queued):
                self.queued.append((task_id, *task))

    def next(self) -> tuple[int, str, list[str], dict[str, str]] | None:
        """The next task to run (None if none was sent); it becomes the running one."""
        self.running = None
        while self.queued:
            task = self.queued.popleft()
            if task[0] not in self.withdrawn:
                self.running = task[0]
                return task
            self.withdrawn.discard(task[0])
        return None


def _serve(connection: Connection) -> None:
    """A worker process's body: run tasks from the connection until it closes. A task sent
    while another runs waits behind it and starts the moment it ends; each result names
    the task that started next (None if none), so the engine knows what runs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(WORKER_NICENESS)
    base = dict(os.environ)
    entries: dict[str, Any] = {}
    for name in IN_PROCESS_ENTRY_POINTS.values():
        _entry(name, entries)
    tasks = _Tasks(connection)
    task = None
    while True:
        try:
            while task is None:
                tasks.read(wait=True)
                task = tasks.next()
        except (EOFError, OSError):
            return
        task_id, entry, argv, environment = task
        sink = _LineSink()
        started = _ms()
        with redirect_stdout(sink), redirect_stderr(sink):
            try:
                code = _entry(entry, entries)(argv, {**base, **environment}, sink)
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            except BaseException:
                traceback.print_exc(file=sink)
                code = 1
        stopped = _ms()
        try:
            tasks.read(wait=False)
        except (EOFError, OSError):
            return
        task = tasks.next()
        following = task[0] if task else None
        connection.send((task_id, int(code or 0), started, stopped, sink.close_lines(), following))


class _Worker:
    """One long-lived worker process and its end of the pipe."""

    def __init__(self, context: Any) -> None:
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs,), daemon=True)
        self.process.start()
        theirs.close()
        self.instance = f"local-{self.process.pid}"
        self.queued: _InProcessAttempt | None = None

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()


class _InProcessAttempt:
    """An attempt inside a worker process: running, or queued behind the one running there
    (it starts when that one ends, without waiting for the engine)."""

    def __init__(self, pool: AttemptPool, worker: _Worker, task_id: int) -> None:
        self.pool = pool
        self.worker = worker
        self.task_id = task_id
        self.instance = worker.instance
        self.started_at = _ms()
        self.successor: _InProcessAttempt | None = None

    def fileno(self) -> int:
        return self.worker.connection.fileno()

    def collect(self) -> Outcome | None:
        try:
            _, code, started, stopped, lines, following = self.worker.connection.recv()
        except (EOFError, OSError):
            self.pool.discard(self.worker)
            return Outcome(None, self.started_at, _ms(), host_lost=True)
        queued, self.worker.queued = self.worker.queued, None
        if queued is not None and following == queued.task_id:
            queued.started_at = stopped
            self.successor = queued
        else:
            self.pool.release(self.worker)
        return Outcome(code, started, stopped, lines)

    def withdraw(self) -> None:
        """Ask the worker process not to start this queued attempt (it may have already)."""
        with contextlib.suppress(OSError):
            self.worker.connection.send(("withdraw", self.task_id))

    def kill(self) -> None:
        self.pool.discard(self.worker)


class _SubprocessAttempt:
    """An attempt running as a subprocess, its stdout and stderr captured line by line."""

    def __init__(self, command: Sequence[str], environment: dict[str, str]) -> None:
        self.started_at = _ms()
        self.process = subprocess.Popen(
            list(command),
            env={**os.environ, **environment},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.instance = f"local-{self.process.pid}"
        self.successor = None
        self._buffer = b""
        self._lines: list[tuple[int, str]] = []

    def fileno(self) -> int:
        return self.process.stdout.fileno()

    def _add(self, chunk: bytes) -> None:
        *done, self._buffer = (self._buffer + chunk).split(b"\n")
        stamp = _ms()
        self._lines.extend((stamp, line.decode(errors="replace")) for line in done)

    def collect(self) -> Outcome | None:
        chunk = os.read(self.fileno(), 65536)
        if chunk:
            self._add(chunk)
            return None
        if self._buffer:
            self._add(b"\n")
        self.process.stdout.close()
        code = self.process.wait()
        return Outcome(code if code >= 0 else 128 - code, self.started_at, _ms(), self._lines)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()


def _preloading_context() -> Any:
    context = multiprocessing.get_context(START_METHOD)
    context.set_forkserver_preload([__name__, *PRELOAD])
    return context


def start_forkserver() -> None:
    """Start the forkserver the worker processes fork from (once per process), preloading
    the in-process entry points. The runner calls it before its own heavy imports, so the
    server starts meanwhile and its workers, which re-run the runner's ``__main__``
    module as any forkserver child does, find little there to import."""
    _preloading_context()
    multiprocessing.forkserver.ensure_running()


class AttemptPool:
    """Starts attempts: in a reusable worker process when the command allows, else as a
    subprocess. Worker processes are started ahead of need (:meth:`grow`) or on demand, and
    replaced when they die."""

    def __init__(self) -> None:
        self._context = _preloading_context()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._entries: dict[tuple[str, ...], tuple[str, list[str]] | None] = {}
        self._task_ids = itertools.count()

    def warm(self) -> None:
        """Start the forkserver now, so it imports the entry points while the first jobs
        are still on their way instead of after the first child was due to start."""
        start_forkserver()

    def grow(self, target: int) -> bool:
        """Start one idle worker process if the pool has fewer than ``target``; whether it
        did. A worker process's first task otherwise waits for the process to boot (tens of
        milliseconds), which a run's first children would pay one by one."""
        if len(self._idle) + len(self._busy) >= target:
            return False
        self._idle.append(_Worker(self._context))
        return True

    def start(self, command: Sequence[str], environment: dict[str, str]) -> Attempt:
        """Start one attempt of ``command`` with ``environment`` (added to this process's)."""
        entry = self._entry(command)
        if entry is None:
            return _SubprocessAttempt(command, environment)
        while True:
            worker = self._idle.pop() if self._idle else _Worker(self._context)
            try:
                attempt = self._send(worker, entry, environment)
            except OSError:
                worker.kill()
                continue
            self._busy.add(worker)
            return attempt

    def can_queue_after(self, running: Attempt, command: Sequence[str]) -> bool:
        """Whether an attempt of ``command`` can be queued behind ``running``: both run in
        a worker process, and none is queued there yet."""
        worker = getattr(running, "worker", None)
        return worker is not None and worker.queued is None and self._entry(command) is not None

    def queue_after(
        self, running: Attempt, command: Sequence[str], environment: dict[str, str]
    ) -> Attempt | None:
        """Queue an attempt of ``command`` on the worker process that runs ``running``, to
        start the moment ``running`` ends (its ``successor`` once collected); None when
        that cannot be (a subprocess, a worker process that already has one queued or is
        gone)."""
        if not self.can_queue_after(running, command):
            return None
        worker = running.worker
        try:
            worker.queued = self._send(
                worker, self._entry(command), environment, after=running.task_id
            )
        except OSError:
            return None
        return worker.queued

    def _send(
        self,
        worker: _Worker,
        entry: tuple[str, list[str]],
        environment: dict[str, str],
        after: int | None = None,
    ) -> _InProcessAttempt:
        task_id = next(self._task_ids)
        worker.connection.send(("run", task_id, after, entry[0], entry[1], environment))
        return _InProcessAttempt(self, worker, task_id)

    def _entry(self, command: Sequence[str]) -> tuple[str, list[str]] | None:
        key = tuple(command)
        if key not in self._entries:
            self._entries[key] = in_process_entry(command)
        return self._entries[key]

    def release(self, worker: _Worker) -> None:
        """Take back a worker process whose task finished."""
        self._busy.discard(worker)
        self._idle.append(worker)

    def discard(self, worker: _Worker) -> None:
        """Kill a worker process and forget it."""
        self._busy.discard(worker)
        worker.kill()

    def close(self) -> None:
        """Kill every worker process."""
        for worker in [*self._idle, *self._busy]:
            worker.kill()
        self._idle.clear()
        self._busy.clear()
