"""The local AWS Batch engine: jobs, array children, dependencies, capacity, retries and
the long-lived worker processes that run them, persisted in SQLite under ``N2N_HOME``.

The engine knows nothing of boto3 response shapes: ``pipeline.local.batch.client`` and
``pipeline.local.logs.client`` turn its tables into AWS-shaped responses.
"""
