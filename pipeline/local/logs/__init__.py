"""The local stand-in for CloudWatch Logs."""
