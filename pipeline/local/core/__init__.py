"""What every local service shares, once: SQLite, the clock, ARNs and region, paging and
the boto3-shaped client base that raises modeled ``ClientError``s."""
