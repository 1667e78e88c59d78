"""The local stand-in for AWS Step Functions: the ASL interpreter, executions, the client."""
