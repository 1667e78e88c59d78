"""SQLite under ``N2N_HOME``: WAL mode, so a notebook, the CLI and the runner share it safely.

:class:`Database` gives each thread its own connection and writes in explicit
``BEGIN IMMEDIATE`` transactions (the write lock is taken up front, so two writers never
deadlock upgrading a read). :func:`open_db` is the raw connection for code that owns one
per thread already (the Batch engine).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_MS = 30_000


def open_db(home: Path, name: str, schema: str) -> sqlite3.Connection:
    """Open ``{home}/{name}.sqlite`` in WAL mode and make sure ``schema`` (DDL) exists."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        home / f"{name}.sqlite", timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
    )
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    connection.executescript(schema)
    return connection


class Database:
    """``{home}/{name}.sqlite`` with one connection per thread and explicit transactions."""

    def __init__(self, home: Path, name: str, schema: str) -> None:
        self.home = Path(home)
        self.name = name
        self.schema = schema
        self._local = threading.local()
        self.connection()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (reads outside a transaction see the latest commit)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = open_db(self.home, self.name, self.schema)
            connection.isolation_level = None
            self._local.connection = connection
        return connection

    def execute(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
        """Run one statement on this thread's connection."""
        return self.connection().execute(sql, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> sqlite3.Cursor:
        """Run one statement per row on this thread's connection."""
        return self.connection().executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        connection = self.connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
