"""RFC 3339 timestamps as ASL uses them (Choice rules, Wait, the context object)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
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
    """``moment`` as AWS writes context-object times: ``2024-05-01T12:00:00.123Z``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)
