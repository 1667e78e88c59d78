"""boto3-shaped clients of the local backend, one module per AWS service."""
