"""RFC 3339 timestamps as ASL uses them (Choice rules, Wait, the context object)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

# An uppercase T between date and time; Z or a numeric offset (ASL's RFC 3339 profile).
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def parse_timestamp(value: Any) -> datetime | None:
    """The aware datetime ``value`` denotes, or None when it is not an RFC 3339 timestamp."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def format_timestamp(moment: datetime) -> str:
    """``moment`` as AWS writes context-object times, in UTC to the nearest millisecond:
    ``2025-08-27T10:04:42.001Z``, and ``2025-08-27T10:04:42Z`` when the fraction is zero
    (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html)."""
    moment = moment.astimezone(UTC) + timedelta(microseconds=500)
    millis = moment.microsecond // 1000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{millis:03d}Z" if millis else "Z")


def documented(text: Any) -> Any:
    """An RFC 3339 timestamp ``text`` in the documented form of ``format_timestamp``; any
    other value unchanged."""
    moment = parse_timestamp(text)
    return text if moment is None else format_timestamp(moment)


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)
