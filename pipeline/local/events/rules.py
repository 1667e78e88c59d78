"""Scheduled EventBridge rules of the local backend, in SQLite, and their firing.

A deploy puts each rule with its state machine targets; the runner (kept alive while an
enabled rule exists) calls :meth:`Rules.fire_due` and starts one execution per target and
firing. A ``rate`` rule fires every period from when it was enabled, compressed by the
``N2N_TIME_SCALE`` in force when it was deployed, like Wait states; a ``cron`` rule fires at
its UTC wall-clock times. A missed firing is skipped, not caught up (EventBridge does not
backfill either).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.local.core.arns import region_of
from pipeline.local.core.clock import now_ms
from pipeline.local.core.db import Database
from pipeline.local.events.expressions import Rate, parse_schedule

SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    expression TEXT NOT NULL,
    state TEXT NOT NULL,
    targets TEXT NOT NULL,
    time_scale REAL NOT NULL,
    next_ms INTEGER
);
"""


@dataclass(frozen=True)
class Target:
    """A state machine the rule starts, with the rule's ``Input`` (None: the event itself)."""

    id: str
    arn: str
    input: str | None


@dataclass(frozen=True)
class RuleRecord:
    """A scheduled rule as stored; ``next_ms`` is None when it is disabled or has no firing left."""

    arn: str
    name: str
    expression: str
    state: str
    targets: list[Target]
    time_scale: float
    next_ms: int | None


def _record(row) -> RuleRecord:
    fields = dict(row)
    fields["targets"] = [Target(**target) for target in json.loads(fields["targets"])]
    return RuleRecord(**fields)


def _period_ms(rate: Rate, time_scale: float) -> int:
    return max(1, round(rate.period_s * 1000 * time_scale))


def next_firing_ms(expression: str, time_scale: float, after_ms: int) -> int | None:
    """When a rule enabled at ``after_ms`` first fires, in epoch ms (None: never)."""
    schedule = parse_schedule(expression)
    if isinstance(schedule, Rate):
        return after_ms + _period_ms(schedule, time_scale)
    moment = schedule.next_after(datetime.fromtimestamp(after_ms / 1000, UTC))
    return round(moment.timestamp() * 1000) if moment else None


def _following(rule: RuleRecord, now: int) -> int | None:
    """The rule's first firing after ``now``: a rate keeps its cadence, missed periods
    are skipped."""
    schedule = parse_schedule(rule.expression)
    if isinstance(schedule, Rate):
        period = _period_ms(schedule, rule.time_scale)
        return rule.next_ms + ((now - rule.next_ms) // period + 1) * period
    return next_firing_ms(rule.expression, rule.time_scale, now)


def scheduled_event(rule: RuleRecord, fired_ms: int) -> str:
    """The event EventBridge sends a target that has no ``Input``: a Scheduled Event."""
    account, region = rule.arn.split(":")[4], region_of(rule.arn)
    time = datetime.fromtimestamp(fired_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time,
        "region": region,
        "resources": [rule.arn],
        "detail": {},
    }
    return json.dumps(event)


class Rules:
    """The scheduled rules of one ``N2N_HOME``."""

    def __init__(self, home: Path) -> None:
        self.db = Database(Path(home), "events", SCHEMA)

    def put(
        self, arn: str, name: str, expression: str, state: str, targets: list[Target], scale: float
    ) -> RuleRecord:
        """Create or replace a rule; an unchanged enabled schedule keeps its next firing."""
        with self.db.transaction() as db:
            row = db.execute("SELECT * FROM rules WHERE arn = ?", (arn,)).fetchone()
            old = _record(row) if row else None
            keep = (
                old is not None
                and old.state == state == "ENABLED"
                and (old.expression, old.time_scale) == (expression, scale)
            )
            next_ms = None
            if state == "ENABLED":
                next_ms = old.next_ms if keep else next_firing_ms(expression, scale, now_ms())
            db.execute(
                "INSERT OR REPLACE INTO rules VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    arn,
                    name,
                    expression,
                    state,
                    json.dumps([target.__dict__ for target in targets]),
                    scale,
                    next_ms,
                ),
            )
        return self.get(arn)

    def delete(self, arn: str) -> None:
        """Remove a rule: it never fires again."""
        with self.db.transaction() as db:
            db.execute("DELETE FROM rules WHERE arn = ?", (arn,))

    def get(self, arn: str) -> RuleRecord | None:
        """The rule with this ARN, or None."""
        row = self.db.execute("SELECT * FROM rules WHERE arn = ?", (arn,)).fetchone()
        return _record(row) if row else None

    def any_enabled(self) -> bool:
        """Whether some rule still has a firing ahead (the runner stays alive for it)."""
        row = self.db.execute(
            "SELECT 1 FROM rules WHERE state = 'ENABLED' AND next_ms IS NOT NULL LIMIT 1"
        ).fetchone()
        return row is not None

    def fire_due(self, start: Callable[[Target, str], None], now: int | None = None) -> int:
        """Advance every enabled rule whose firing is due and call ``start(target, input)``
        once per target; return how many firings happened."""
        now = now_ms() if now is None else now
        rows = self.db.execute(
            "SELECT * FROM rules WHERE state = 'ENABLED' AND next_ms <= ?", (now,)
        ).fetchall()
        fired = 0
        for rule in map(_record, rows):
            following = _following(rule, now)
            with self.db.transaction() as db:
                taken = db.execute(
                    "UPDATE rules SET next_ms = ? WHERE arn = ? AND next_ms = ?",
                    (following, rule.arn, rule.next_ms),
                ).rowcount
            if not taken:
                continue
            fired += 1
            for target in rule.targets:
                event = target.input if target.input is not None else scheduled_event(rule, now)
                start(target, event)
        return fired
