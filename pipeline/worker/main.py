"""The worker's entry: run one step for one child and report it as one JSON line.

``main`` takes argv, the environment and an output stream instead of reading globals,
so the local Batch engine can run many children inside one long-lived process.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from pipeline import clients
from pipeline.errors import N2NError
from pipeline.worker.exits import (
    FAILURE_EXIT_CODE,
    RETRYABLE_EXIT_CODE,
    aws_error_reason,
    io_error_reason,
    is_transient,
)
from pipeline.worker.load import injected_failure
from pipeline.worker.settings import read_settings
from pipeline.worker.steps import STEP_RUNNERS


def _emit(out: TextIO, event: dict) -> None:
    out.write(json.dumps(event, separators=(",", ":")) + "\n")
    out.flush()


def main(argv: Sequence[str], environ: Mapping[str, str], out: TextIO = sys.stdout) -> int:
    """Run the step named in ``argv``, with the AWS clients ``environ`` names; return the
    process exit code."""
    with clients.factory_named_in(environ):
        return _run_step(argv, environ, out)


def _run_step(argv: Sequence[str], environ: Mapping[str, str], out: TextIO) -> int:
    step = argv[0] if len(argv) == 1 else ""
    context = {"step": step, "index": environ.get("AWS_BATCH_JOB_ARRAY_INDEX", "0")}
    try:
        if step not in STEP_RUNNERS:
            raise N2NError(f"Name one step to run: {' | '.join(STEP_RUNNERS)} (got {list(argv)}).")
        settings = read_settings(environ)
        context.update(settings.event_fields())
        if injected_failure(
            settings.run_id,
            step,
            settings.index,
            settings.attempt,
            settings.work.fail_probability,
        ):
            _emit(out, {"event": "n2n.error", **context, "reason": "injected failure"})
            return RETRYABLE_EXIT_CODE
        report = STEP_RUNNERS[step](settings)
    except N2NError as error:
        _emit(out, {"event": "n2n.error", **context, "reason": str(error)})
        return FAILURE_EXIT_CODE
    except (BotoCoreError, ClientError) as error:
        transient = is_transient(error)
        reason = aws_error_reason(error)
        if not transient:
            reason += " A retry cannot fix this: check the job role and EGRESS_URL."
        _emit(out, {"event": "n2n.error", **context, "reason": reason})
        return RETRYABLE_EXIT_CODE if transient else FAILURE_EXIT_CODE
    except OSError as error:
        _emit(out, {"event": "n2n.error", **context, "reason": io_error_reason(error)})
        return RETRYABLE_EXIT_CODE
    _emit(out, {"event": "n2n.step", **context, **asdict(report)})
    return 0
