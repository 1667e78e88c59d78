"""Exit codes of the worker; the template's Batch retry rules use the same numbers."""

RETRYABLE_EXIT_CODE = 75
"""A transient failure (EX_TEMPFAIL): the job definition's evaluateOnExit retries it."""

FAILURE_EXIT_CODE = 1
"""A failure that a retry cannot fix (bad settings, missing inputs)."""
