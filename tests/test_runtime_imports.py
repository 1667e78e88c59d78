"""The Lambda handlers and the Batch worker need the standard library and boto3 only."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "numpy", "matplotlib", "yaml", "jsonpath_ng", "tqdm", "moto")
ENTRY_POINTS = ("pipeline.handlers.prepare", "pipeline.handlers.watch", "pipeline.worker.main")


def test_lambda_and_worker_modules_import_nothing_heavy():
    code = (
        "import json, sys\n"
        + "".join(f"import {module}\n" for module in ENTRY_POINTS)
        + f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_pipeline_connect_is_the_function():
    import pipeline
    import pipeline.connect  # importing the module must not shadow the function

    assert callable(pipeline.connect)
    assert pipeline.connect.__module__ == "pipeline.connect"
