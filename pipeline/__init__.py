"""n2n-kit: deploy, run and study a Step Functions + AWS Batch N_TO_N pipeline.

The Lambda handlers and the Batch worker import only the standard library and boto3,
so this package root stays free of heavy imports.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "connect"]


def connect(backend: str = "local", **options):
    """Return the boto3-shaped clients of one backend (see :mod:`pipeline.connect`)."""
    from pipeline.connect import connect as _connect

    return _connect(backend, **options)
