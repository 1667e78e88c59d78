"""Opaque ``nextToken`` values for the local clients' paginated listings."""

from __future__ import annotations

import base64
import json
from typing import Any


def encode_token(state: dict[str, Any]) -> str:
    """An opaque token carrying ``state``."""
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def decode_token(token: str, key: str) -> Any:
    """The ``key`` entry of a token made by :func:`encode_token`; ValueError if malformed."""
    try:
        return json.loads(base64.urlsafe_b64decode(token))[key]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"The token {token!r} is not valid.") from error


def page(items: list, token: str | None, size: int) -> tuple[list, dict[str, str]]:
    """The page of ``items`` a token points at, and the next token entry when more remain."""
    offset = int(decode_token(token, "offset")) if token else 0
    more = (
        {"nextToken": encode_token({"offset": offset + size})} if offset + size < len(items) else {}
    )
    return items[offset : offset + size], more
