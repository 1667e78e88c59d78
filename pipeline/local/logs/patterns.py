"""CloudWatch Logs filter patterns, as far as the kit uses them: the empty pattern (every
event) and JSON patterns that AND equality tests on strings or numbers,
``{ $.event = "n2n.step" && $.workflow_id = "wf-1" }``
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html).

Anything else is refused with a :class:`PatternError` rather than matched differently from
CloudWatch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[str], bool]
_MISSING = object()
_CONDITION = (
    r'\s*\$\.([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*=\s*("(?:[^"\\*]|\\.)*"|-?\d+(?:\.\d+)?)\s*'
)
_PATTERN = re.compile(r"\{" + _CONDITION + r"(?:&&" + _CONDITION + r")*\}")
SUPPORTED = 'the empty pattern or { $.field = "value" && $.other = 1 ... }'


class PatternError(ValueError):
    """The filter pattern is not one this backend understands."""


def _select(document: Any, path: list[str]) -> Any:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return _MISSING
        document = document[key]
    return document


def _equal(found: Any, wanted: Any) -> bool:
    return not isinstance(found, bool) and found == wanted


def compile_pattern(text: str | None) -> Predicate:
    """A predicate telling whether a message matches the filter pattern ``text``."""
    text = (text or "").strip()
    if not text:
        return lambda message: True
    if not _PATTERN.fullmatch(text):
        raise PatternError(f"Filter pattern {text!r} is not supported locally: use {SUPPORTED}.")
    tests = [
        (path.split("."), json.loads(literal))
        for path, literal in re.findall(_CONDITION, text[1:-1])
    ]

    def predicate(message: str) -> bool:
        try:
            document = json.loads(message)
        except ValueError:
            return False
        return all(_equal(_select(document, path), value) for path, value in tests)

    return predicate
