"""Paging for every local client: opaque ``nextToken`` values over a listing.

A token that was not made here raises :class:`InvalidToken`; each client turns it into the
modeled ``ClientError`` its service documents (see ``LocalClient.page``).
"""

from __future__ import annotations

import base64
import json
from typing import Any


class InvalidToken(ValueError):
    """A ``nextToken`` this backend did not hand out."""


def encode_token(state: dict[str, Any]) -> str:
    """An opaque token carrying ``state``."""
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


def decode_token(token: str, key: str) -> Any:
    """The ``key`` entry of a token made by :func:`encode_token`."""
    try:
        return json.loads(base64.urlsafe_b64decode(token))[key]
    except (ValueError, KeyError, TypeError) as error:
        raise InvalidToken(f"The token {token!r} is not valid.") from error


def page(items: list, token: str | None, size: int) -> tuple[list, dict[str, str]]:
    """The page of ``items`` a token points at, and the next token entry when more remain."""
    offset = decode_token(token, "offset") if token else 0
    if not isinstance(offset, int) or offset < 0:
        raise InvalidToken(f"The token {token!r} is not valid.")
    more = (
        {"nextToken": encode_token({"offset": offset + size})} if offset + size < len(items) else {}
    )
    return items[offset : offset + size], more
