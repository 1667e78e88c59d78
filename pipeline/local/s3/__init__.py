"""The local stand-in for Amazon S3: buckets as folders."""
