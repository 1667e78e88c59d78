"""The local stand-in for AWS Lambda: the template's functions, called in-process."""
