"""Lambda handlers the environment tests deploy."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any


def echo(event: Any, context: Any) -> dict[str, Any]:
    """The event and what the environment tells the handler."""
    return {
        "event": event,
        "greeting": os.environ["GREETING"],
        "region": os.environ["AWS_REGION"],
        "name": context.function_name,
        "remaining_ms_positive": 0 < context.get_remaining_time_in_millis() <= 60_000,
    }


def hang(event: Any, context: Any) -> None:
    """Write this process's pid to ``MARKER`` (when set), then never return."""
    if os.environ.get("MARKER"):
        Path(os.environ["MARKER"]).write_text(str(os.getpid()))
    threading.Event().wait()


def boom(event: Any, context: Any) -> None:
    """Fail as a handler does."""
    raise ValueError("bad input")
