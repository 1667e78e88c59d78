"""SQLite under ``N2N_HOME``: WAL mode, so a notebook, the CLI and the runner share it safely."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

BUSY_TIMEOUT_MS = 30_000


def default_home() -> Path:
    """``$N2N_HOME``, else ``~/.local/state/n2n``."""
    return Path(os.environ.get("N2N_HOME") or Path.home() / ".local" / "state" / "n2n")


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
