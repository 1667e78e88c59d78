"""Exit codes of the worker, and which AWS errors a retry can fix.

The template's Batch retry rules use the same numbers: :data:`RETRYABLE_EXIT_CODE` is
retried, anything else is final. An AWS error is retryable when botocore's own standard
retry policy would retry it (a throttle, a 5xx, a timeout, a reset connection) — by the
time it reaches the worker, the client's adaptive retries have already been spent, so a
new attempt of the child is the next remedy. Anything else (AccessDenied, NoSuchBucket, a
validation error) fails the same way every time and is final. The retry policy is imported
on the first AWS error: it loads most of botocore, which a worker otherwise needs only
for its first egress.
"""

from __future__ import annotations

import errno
import functools

from botocore.exceptions import BotoCoreError, ClientError

RETRYABLE_EXIT_CODE = 75
"""A transient failure (EX_TEMPFAIL): the job definition's evaluateOnExit retries it."""

FAILURE_EXIT_CODE = 1
"""A failure that a retry cannot fix (bad settings, missing inputs, permissions)."""

_SERVER_ERROR = 500


@functools.cache
def _transient():
    from botocore.retries.standard import (
        OrRetryChecker,
        ThrottledRetryableChecker,
        TransientRetryableChecker,
    )

    return OrRetryChecker([TransientRetryableChecker(), ThrottledRetryableChecker()])


def is_transient(error: BotoCoreError | ClientError) -> bool:
    """Whether botocore's standard retry policy counts ``error`` as worth another try."""
    from botocore.retries.standard import RetryContext

    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        context = RetryContext(attempt_number=1, parsed_response=error.response)
        return status >= _SERVER_ERROR or _transient().is_retryable(context)
    return _transient().is_retryable(RetryContext(attempt_number=1, caught_exception=error))


def aws_error_reason(error: BotoCoreError | ClientError) -> str:
    """One line saying which AWS call failed and why."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "") or "an AWS call"
        code = details.get("Code", "Unknown")
        message = details.get("Message", "").rstrip(".")
        said = f"{code} ({message})" if message else code
        return f"AWS {operation} failed: {said}."
    return f"AWS call failed: {str(error).rstrip('.')}."


def io_error_reason(error: OSError) -> str:
    """One line saying which file operation failed; for a full disk, what to do about it."""
    if error.errno == errno.ENOSPC:
        where = f" holding {error.filename}" if error.filename else ""
        return (
            f"No space left on the disk{where}: free space there, then rerun the run's "
            "missing children."
        )
    return f"I/O error: {error}"
