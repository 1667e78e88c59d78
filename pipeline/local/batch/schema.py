"""The Batch tables in ``{home}/batch.sqlite``.

Clients write registrations, submissions (a job row plus its array children in one
transaction) and terminate/cancel requests; the engine writes state transitions in
batched transactions. ``meta.config`` counts registration changes so the engine reloads
compute environments and queues only when they change. ``children_status`` covers the
per-status counts of an array (its ``statusSummary``, read on every describe of the parent)
without reading the children's attempts and containers.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pipeline.local.core.db import Database, open_db

BATCH_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('config', 0);
CREATE TABLE IF NOT EXISTS compute_environments (
    name TEXT PRIMARY KEY, arn TEXT UNIQUE NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS job_queues (
    name TEXT PRIMARY KEY, arn TEXT UNIQUE NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS job_definitions (
    arn TEXT PRIMARY KEY, name TEXT NOT NULL, revision INTEGER NOT NULL,
    status TEXT NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS job_definitions_name ON job_definitions (name, revision);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT UNIQUE NOT NULL,
    name TEXT NOT NULL,
    queue TEXT NOT NULL,
    definition TEXT NOT NULL,
    array_size INTEGER,
    status TEXT NOT NULL,
    status_reason TEXT,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    stopped_at INTEGER,
    attempts TEXT NOT NULL DEFAULT '[]',
    container TEXT NOT NULL DEFAULT '{}',
    request TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (queue, status);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS children (
    parent_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    started_at INTEGER,
    stopped_at INTEGER,
    attempts TEXT NOT NULL DEFAULT '[]',
    container TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (parent_id, idx)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS children_status ON children (parent_id, status);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL);
"""


def open_batch_db(home: Path) -> sqlite3.Connection:
    """A connection to the home's Batch tables."""
    return open_db(home, "batch", BATCH_SCHEMA)


def batch_database(home: Path) -> Database:
    """The home's Batch tables for the clients (one connection per thread)."""
    return Database(home, "batch", BATCH_SCHEMA)


def bump_config(connection: sqlite3.Connection) -> None:
    """Record that a compute environment or queue changed (inside the caller's transaction)."""
    connection.execute("UPDATE meta SET value = value + 1 WHERE key = 'config'")
