"""Batch's retry strategy: ``attempts`` and the first matching ``evaluateOnExit`` rule.

Patterns match exactly, or by prefix when they end with ``*``. When no rule matches, the
job is retried while attempts remain, as AWS documents.
"""

from __future__ import annotations

from collections.abc import Iterable


def pattern_matches(pattern: str | None, value: str | None) -> bool:
    """Whether one evaluateOnExit condition holds (an absent condition always holds)."""
    if pattern is None:
        return True
    if value is None:
        return False
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def exit_action(
    rules: Iterable[dict[str, str]],
    exit_code: int | None,
    reason: str | None,
    status_reason: str | None,
) -> str | None:
    """The action (``RETRY`` | ``EXIT``) of the first rule the attempt matches, else None."""
    code = None if exit_code is None else str(exit_code)
    for rule in rules:
        if (
            pattern_matches(rule.get("onExitCode"), code)
            and pattern_matches(rule.get("onReason"), reason)
            and pattern_matches(rule.get("onStatusReason"), status_reason)
        ):
            return rule["action"].upper()
    return None


def should_retry(
    attempts: int,
    rules: Iterable[dict[str, str]],
    attempt: int,
    exit_code: int | None,
    reason: str | None,
    status_reason: str | None,
) -> bool:
    """Whether a failed ``attempt`` (1-based) of a job allowed ``attempts`` runs again."""
    if attempt >= attempts:
        return False
    return exit_action(rules, exit_code, reason, status_reason) != "EXIT"
