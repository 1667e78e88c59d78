"""The local ``logs`` client: CloudWatch Logs' read API (and log group management) over
the log store the Batch engine writes attempts' output to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.local.core.arns import DEFAULT_REGION
from pipeline.local.core.client import LocalClient
from pipeline.local.core.clock import now_ms
from pipeline.local.core.paging import InvalidToken, decode_token, encode_token
from pipeline.local.logs.models import Event, Position, group_events, logs_database, stream_events
from pipeline.local.logs.patterns import PatternError, compile_pattern

EVENTS_PAGE = 10_000
LISTING_PAGE = 50


def _position_token(direction: str, position: Position) -> str:
    return f"{direction}/{position[0]:013d}/{position[1]:020d}"


class LogsClient(LocalClient):
    """boto3's ``logs`` client, local."""

    service_name = "logs"

    def __init__(self, home: Path, region: str = DEFAULT_REGION) -> None:
        super().__init__(home, region)
        self._db = logs_database(self.home)

    # -- helpers -------------------------------------------------------------------------

    def _not_found(self, operation: str, what: str) -> Exception:
        return self.error(
            operation, "ResourceNotFoundException", f"The specified {what} does not exist."
        )

    def _invalid(self, operation: str, message: str) -> Exception:
        return self.error(operation, "InvalidParameterException", message)

    def _group(self, operation: str, params: dict) -> Any:
        name = params.get("logGroupName") or params.get("logGroupIdentifier", "")
        name = name.split(":log-group:", 1)[-1].removesuffix(":*")
        if not name:
            raise self._invalid(operation, "Name the log group: logGroupName.")
        row = self._db.execute("SELECT * FROM log_groups WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise self._not_found(operation, "log group")
        return row

    def _page(self, operation: str, items: list, params: dict) -> tuple[list, dict]:
        return self.page(
            operation, items, params.get("nextToken"), params.get("limit") or LISTING_PAGE
        )

    def _group_arn(self, name: str) -> str:
        return self.arn("logs", f"log-group:{name}")

    # -- groups --------------------------------------------------------------------------

    def create_log_group(self, **params: Any) -> dict:
        """Create a log group."""
        self.validate("CreateLogGroup", params)
        with self._db.transaction():
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO log_groups (name, created_at) VALUES (?, ?)",
                (params["logGroupName"], now_ms()),
            ).rowcount
        if not inserted:
            raise self.error(
                "CreateLogGroup",
                "ResourceAlreadyExistsException",
                "The specified log group already exists",
            )
        return {}

    def delete_log_group(self, **params: Any) -> dict:
        """Delete a log group with its streams and events."""
        self.validate("DeleteLogGroup", params)
        name = self._group("DeleteLogGroup", params)["name"]
        with self._db.transaction():
            for table, column in (
                ("log_events", "grp"),
                ("log_streams", "grp"),
                ("log_groups", "name"),
            ):
                self._db.execute(f"DELETE FROM {table} WHERE {column} = ?", (name,))
        return {}

    def put_retention_policy(self, **params: Any) -> dict:
        """Record a log group's retention (kept as a setting: nothing expires locally)."""
        self.validate("PutRetentionPolicy", params)
        name = self._group("PutRetentionPolicy", params)["name"]
        with self._db.transaction():
            self._db.execute(
                "UPDATE log_groups SET retention_days = ? WHERE name = ?",
                (params["retentionInDays"], name),
            )
        return {}

    def describe_log_groups(self, **params: Any) -> dict:
        """Describe log groups by name prefix or pattern, paginated."""
        self.validate("DescribeLogGroups", params)
        rows = self._db.execute(
            "SELECT g.*, coalesce(sum(s.stored_bytes), 0) AS bytes FROM log_groups g"
            " LEFT JOIN log_streams s ON s.grp = g.name GROUP BY g.name ORDER BY g.name"
        ).fetchall()
        prefix = params.get("logGroupNamePrefix", "")
        pattern = params.get("logGroupNamePattern", "")
        groups = []
        for row in rows:
            if not row["name"].startswith(prefix) or pattern.lower() not in row["name"].lower():
                continue
            group = {
                "logGroupName": row["name"],
                "creationTime": row["created_at"],
                "metricFilterCount": 0,
                "arn": self._group_arn(row["name"]) + ":*",
                "logGroupArn": self._group_arn(row["name"]),
                "storedBytes": row["bytes"],
                "logGroupClass": "STANDARD",
            }
            if row["retention_days"] is not None:
                group["retentionInDays"] = row["retention_days"]
            groups.append(group)
        page, more = self._page("DescribeLogGroups", groups, params)
        return {"logGroups": page, **more}

    # -- streams and events --------------------------------------------------------------

    def describe_log_streams(self, **params: Any) -> dict:
        """Describe a group's streams by name prefix, or by last event time, paginated."""
        self.validate("DescribeLogStreams", params)
        operation = "DescribeLogStreams"
        group = self._group(operation, params)["name"]
        order = params.get("orderBy", "LogStreamName")
        prefix = params.get("logStreamNamePrefix", "")
        if prefix and order == "LastEventTime":
            raise self._invalid(
                operation, "Cannot order by LastEventTime with a logStreamNamePrefix."
            )
        column = "name" if order == "LogStreamName" else "coalesce(last_event, 0)"
        direction = "DESC" if params.get("descending") else "ASC"
        rows = self._db.execute(
            f"SELECT * FROM log_streams WHERE grp = ? AND substr(name, 1, ?) = ?"
            f" ORDER BY {column} {direction}, name {direction}",
            (group, len(prefix), prefix),
        ).fetchall()
        streams = []
        for row in rows:
            stream = {
                "logStreamName": row["name"],
                "creationTime": row["created_at"],
                "arn": f"{self._group_arn(group)}:log-stream:{row['name']}",
                "storedBytes": row["stored_bytes"],
            }
            for key, column_name in (
                ("firstEventTimestamp", "first_event"),
                ("lastEventTimestamp", "last_event"),
                ("lastIngestionTime", "last_ingestion"),
            ):
                if row[column_name] is not None:
                    stream[key] = row[column_name]
            streams.append(stream)
        page, more = self._page(operation, streams, params)
        return {"logStreams": page, **more}

    def get_log_events(self, **params: Any) -> dict:
        """One stream's events: the latest ones by default, from the head with
        ``startFromHead``; ``f/`` and ``b/`` tokens page forward and backward."""
        self.validate("GetLogEvents", params)
        operation = "GetLogEvents"
        group = self._group(operation, params)["name"]
        stream = params["logStreamName"]
        if not self._db.execute(
            "SELECT 1 FROM log_streams WHERE grp = ? AND name = ?", (group, stream)
        ).fetchone():
            raise self._not_found(operation, "log stream")
        token = params.get("nextToken") or ""
        direction, _, rest = token.partition("/")
        try:
            position = tuple(int(part) for part in rest.split("/")) if token else None
        except ValueError:
            raise self._invalid(operation, "The specified nextToken is invalid.") from None
        if token and (direction not in ("f", "b") or len(position) != 2):
            raise self._invalid(operation, "The specified nextToken is invalid.")
        from_head = direction == "f" if token else bool(params.get("startFromHead"))
        events = stream_events(
            self._db,
            group,
            stream,
            params.get("startTime"),
            params.get("endTime"),
            after=position if direction == "f" else None,
            before=position if direction == "b" else None,
            limit=params.get("limit") or EVENTS_PAGE,
            from_head=from_head,
        )
        first = events[0].position if events else (position if direction == "b" else (0, 0))
        last = events[-1].position if events else (position if direction == "f" else (0, 0))
        return {
            "events": [
                {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time}
                for e in events
            ],
            "nextForwardToken": _position_token("f", last),
            "nextBackwardToken": _position_token("b", first),
        }

    def filter_log_events(self, **params: Any) -> dict:
        """A group's events matching ``filterPattern``, in time order, paginated."""
        self.validate("FilterLogEvents", params)
        operation = "FilterLogEvents"
        group = self._group(operation, params)["name"]
        if params.get("logStreamNames") and params.get("logStreamNamePrefix"):
            raise self._invalid(operation, "Give logStreamNames or logStreamNamePrefix, not both.")
        try:
            matches = compile_pattern(params.get("filterPattern"))
        except PatternError as error:
            raise self._invalid(operation, str(error)) from None
        try:
            after = decode_token(params["nextToken"], "after") if params.get("nextToken") else None
        except InvalidToken:
            raise self._invalid(operation, "The specified nextToken is invalid.") from None
        limit = params.get("limit") or EVENTS_PAGE
        found: list[Event] = []
        more: dict = {}
        for event in group_events(
            self._db,
            group,
            params.get("logStreamNames"),
            params.get("logStreamNamePrefix"),
            params.get("startTime"),
            params.get("endTime"),
            tuple(after) if after else None,
        ):
            if len(found) == limit:
                more = {"nextToken": encode_token({"after": list(found[-1].position)})}
                break
            if matches(event.message):
                found.append(event)
        return {
            "events": [
                {
                    "logStreamName": e.stream,
                    "timestamp": e.timestamp,
                    "message": e.message,
                    "ingestionTime": e.ingestion_time,
                    "eventId": f"{e.id:056d}",
                }
                for e in found
            ],
            "searchedLogStreams": [],
            **more,
        }
