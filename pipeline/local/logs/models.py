"""The CloudWatch Logs store in ``{home}/logs.sqlite``: log groups, streams and events.

The engine appends each attempt's output as one stream in batched transactions; the logs
client reads it back. Events are ordered by (timestamp, id): that pair is the position
the paging tokens carry.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.local.core.clock import now_ms
from pipeline.local.core.db import Database, open_db

LOGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS log_groups (
    name TEXT PRIMARY KEY, created_at INTEGER NOT NULL, retention_days INTEGER);
CREATE TABLE IF NOT EXISTS log_streams (
    grp TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL,
    first_event INTEGER, last_event INTEGER, last_ingestion INTEGER,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grp, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_events (
    id INTEGER PRIMARY KEY, grp TEXT NOT NULL, stream TEXT NOT NULL,
    timestamp INTEGER NOT NULL, ingestion_time INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS log_events_stream ON log_events (grp, stream, timestamp, id);
CREATE INDEX IF NOT EXISTS log_events_group ON log_events (grp, timestamp, id);
"""

Position = tuple[int, int]
"""(timestamp, id) of an event: where a paging token points."""


@dataclass(frozen=True)
class StreamLog:
    """One attempt's output: its group, stream, creation time and (timestamp, line) events."""

    group: str
    stream: str
    created_at: int
    events: Sequence[tuple[int, str]]


@dataclass(frozen=True)
class Event:
    """One stored log event."""

    id: int
    stream: str
    timestamp: int
    ingestion_time: int
    message: str

    @property
    def position(self) -> Position:
        """The event's paging position."""
        return (self.timestamp, self.id)


def open_logs_db(home: Path) -> sqlite3.Connection:
    """A connection to the home's log tables."""
    return open_db(home, "logs", LOGS_SCHEMA)


def logs_database(home: Path) -> Database:
    """The home's log tables for the logs client (one connection per thread)."""
    return Database(home, "logs", LOGS_SCHEMA)


def append_streams(connection: sqlite3.Connection, logs: Iterable[StreamLog]) -> None:
    """Store attempts' output, creating missing groups and streams, in one transaction."""
    logs = list(logs)
    if not logs:
        return
    ingested = now_ms()
    with connection:
        connection.executemany(
            "INSERT OR IGNORE INTO log_groups (name, created_at) VALUES (?, ?)",
            {(log.group, log.created_at) for log in logs},
        )
        connection.executemany(
            "INSERT INTO log_streams (grp, name, created_at, first_event, last_event,"
            " last_ingestion, stored_bytes) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (grp, name) DO UPDATE SET"
            " first_event = coalesce(min(first_event, excluded.first_event), excluded.first_event),"
            " last_event = coalesce(max(last_event, excluded.last_event), excluded.last_event),"
            " last_ingestion = excluded.last_ingestion,"
            " stored_bytes = stored_bytes + excluded.stored_bytes",
            [
                (
                    log.group,
                    log.stream,
                    log.created_at,
                    min((t for t, _ in log.events), default=None),
                    max((t for t, _ in log.events), default=None),
                    ingested if log.events else None,
                    sum(len(m) for _, m in log.events),
                )
                for log in logs
            ],
        )
        connection.executemany(
            "INSERT INTO log_events (grp, stream, timestamp, ingestion_time, message)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (log.group, log.stream, stamp, ingested, message)
                for log in logs
                for stamp, message in log.events
            ],
        )


def _event(row: sqlite3.Row) -> Event:
    return Event(row["id"], row["stream"], row["timestamp"], row["ingestion_time"], row["message"])


def stream_events(
    connection: sqlite3.Connection,
    group: str,
    stream: str,
    start: int | None,
    end: int | None,
    after: Position | None,
    before: Position | None,
    limit: int,
    from_head: bool,
) -> list[Event]:
    """Up to ``limit`` events of one stream in [start, end), strictly after ``after`` /
    before ``before``; the first ones when ``from_head``, else the last ones; ascending."""
    clauses, params = ["grp = ?", "stream = ?"], [group, stream]
    for clause, value in (
        ("timestamp >= ?", start),
        ("timestamp < ?", end),
        ("(timestamp, id) > (?, ?)", after),
        ("(timestamp, id) < (?, ?)", before),
    ):
        if value is not None:
            clauses.append(clause)
            params.extend(value if isinstance(value, tuple) else (value,))
    order = "ASC" if from_head else "DESC"
    rows = connection.execute(
        f"SELECT * FROM log_events WHERE {' AND '.join(clauses)}"
        f" ORDER BY timestamp {order}, id {order} LIMIT ?",
        [*params, limit],
    ).fetchall()
    events = [_event(row) for row in rows]
    return events if from_head else events[::-1]


def group_events(
    connection: sqlite3.Connection,
    group: str,
    streams: Sequence[str] | None,
    prefix: str | None,
    start: int | None,
    end: int | None,
    after: Position | None,
) -> Iterator[Event]:
    """Every event of a group in position order, optionally of some streams only."""
    clauses, params = ["grp = ?"], [group]
    if streams:
        clauses.append(f"stream IN ({','.join('?' * len(streams))})")
        params.extend(streams)
    if prefix:
        clauses.append("substr(stream, 1, ?) = ?")
        params.extend((len(prefix), prefix))
    for clause, value in (("timestamp >= ?", start), ("timestamp <= ?", end)):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if after is not None:
        clauses.append("(timestamp, id) > (?, ?)")
        params.extend(after)
    cursor = connection.execute(
        f"SELECT * FROM log_events WHERE {' AND '.join(clauses)} ORDER BY timestamp, id", params
    )
    for row in cursor:
        yield _event(row)
