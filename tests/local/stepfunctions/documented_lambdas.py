"""Lambda handlers the Step Functions Developer Guide's examples call, for the documented
corpus (tests/local/stepfunctions/test_documented.py). The local runner imports them by
name."""

from __future__ import annotations

# What an Amazon EMR createCluster.sync task returns in the ResultSelector example of
# https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
EMR_CREATE_CLUSTER_RESULT = {
    "resourceType": "elasticmapreduce",
    "resource": "createCluster.sync",
    "output": {
        "SdkHttpMetadata": {
            "HttpHeaders": {
                "Content-Length": "1112",
                "Content-Type": "application/x-amz-JSON-1.1",
                "Date": "Mon, 25 Nov 2019 19:41:29 GMT",
                "x-amzn-RequestId": "1234-5678-9012",
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": "1234-5678-9012"},
        "ClusterId": "AKIAIOSFODNN7EXAMPLE",
    },
}


def hello(event: dict, context: object) -> str:
    """The guide's HelloFunction: ``Hello, <who>!``."""
    return f"Hello, {event['who']}!"


def add(event: list, context: object) -> int:
    """The Parallel example's Add task: the sum of a two-number array."""
    return event[0] + event[1]


def subtract(event: list, context: object) -> int:
    """The Parallel example's Subtract task: the first number minus the second."""
    return event[0] - event[1]


def create_cluster(event: dict, context: object) -> dict:
    """Stands in for the EMR createCluster.sync task: returns the documented result."""
    return EMR_CREATE_CLUSTER_RESULT
