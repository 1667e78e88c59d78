"""What a worker process imports before its first child: the forkserver's preload and the
runner module it re-runs as ``__main__``, with no boto3, botocore's client machinery
(``botocore.compat`` underlies all of it) or engine among them."""

from __future__ import annotations

import json
import subprocess
import sys

from pipeline.local.batch.pool import PRELOAD

NOT_BEFORE_THE_FIRST_CHILD = (
    "boto3",
    "botocore.compat",
    "botocore.session",
    "pipeline.local.batch.engine",
    "pipeline.local.stepfunctions.asl",
    "pipeline.local.s3.client",
)


def loaded_after_importing(modules: list[str]) -> list[str]:
    code = (
        "import json, sys\n"
        + "".join(f"import {module}\n" for module in modules)
        + f"print(json.dumps([m for m in {NOT_BEFORE_THE_FIRST_CHILD!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_a_worker_process_starts_without_boto3_botocore_or_the_engine():
    assert loaded_after_importing(["pipeline.local.batch.pool", *PRELOAD]) == []
    assert loaded_after_importing(["pipeline.local.runner"]) == []


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
