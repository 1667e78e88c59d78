"""What a worker process imports before its first child: the forkserver's preload (the
worker entry point and what its egress needs: the local S3 client, botocore's S3 model)
and the runner module it re-runs as ``__main__``, with no boto3 or engine among them."""

from __future__ import annotations

import json
import subprocess
import sys

from pipeline.local.batch.pool import PRELOAD

NOT_IN_A_WORKER = (
    "boto3",
    "pipeline.local.batch.engine",
    "pipeline.local.stepfunctions.asl",
)
NOT_BEFORE_THE_RUNNER_FORKS = (
    *NOT_IN_A_WORKER,
    "botocore.compat",
    "botocore.session",
    "pipeline.local.s3.client",
)
"""The runner module starts the forkserver before anything heavy: botocore's client
machinery (``botocore.compat`` underlies all of it) loads in the server, not before it."""


def loaded_after_importing(modules: list[str], watched: tuple[str, ...]) -> list[str]:
    code = (
        "import json, sys\n"
        + "".join(f"import {module}\n" for module in modules)
        + f"print(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_a_worker_process_starts_without_boto3_or_the_engine():
    assert loaded_after_importing(["pipeline.local.batch.pool", *PRELOAD], NOT_IN_A_WORKER) == []
    assert loaded_after_importing(["pipeline.local.runner"], NOT_BEFORE_THE_RUNNER_FORKS) == []


def test_a_workers_first_egress_imports_nothing_the_forkserver_did_not(tmp_path):
    code = (
        "import json, sys\n"
        + "".join(f"import {module}\n" for module in ["pipeline.local.batch.pool", *PRELOAD])
        + "before = set(sys.modules)\n"
        "from pipeline.clients import client, factory_named_in\n"
        "from pipeline.local.worker_clients import worker_environment\n"
        f"with factory_named_in(worker_environment({str(tmp_path)!r})):\n"
        "    s3 = client('s3')\n"
        "    s3.create_bucket(Bucket='egress')\n"
        "    s3.put_object(Bucket='egress', Key='k', Body=b'{}')\n"
        "    s3.head_object(Bucket='egress', Key='k')\n"
        "    s3.get_object(Bucket='egress', Key='k')['Body'].read()\n"
        "print(json.dumps([type(s3).__module__, sorted(set(sys.modules) - before)]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == ["pipeline.local.s3.client", []]


def test_a_worker_loads_the_s3_client_on_its_first_egress(tmp_path):
    code = (
        "import sys\n"
        "from pipeline.clients import client, factory_named_in\n"
        "from pipeline.local.worker_clients import worker_environment\n"
        f"with factory_named_in(worker_environment({str(tmp_path)!r})):\n"
        "    s3 = client('s3')\n"
        "print(type(s3).__module__, 'boto3' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["pipeline.local.s3.client", "False"]
