"""The AWS Batch worker: ``python -m pipeline.worker {procure|process|egress}``."""

from pipeline.worker.exits import FAILURE_EXIT_CODE, RETRYABLE_EXIT_CODE

__all__ = ["FAILURE_EXIT_CODE", "RETRYABLE_EXIT_CODE"]
