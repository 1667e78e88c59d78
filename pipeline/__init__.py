"""n2n-kit: deploy, run and study a Step Functions + AWS Batch N_TO_N pipeline.

``pipeline.connect(backend)`` returns the boto3-shaped clients of a backend. The Lambda
handlers and the Batch worker import only the standard library and boto3, so this package
root stays free of heavy imports (``pipeline.connect`` imports boto3 and the local backend
only when called).
"""

__version__ = "0.1.0"

from pipeline.connect import connect

__all__ = ["__version__", "connect"]
