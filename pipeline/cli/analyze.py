"""``n2n analyze``: one run's timeline, metrics and figures, written to a folder.

The run is an execution (its ARN, or ``--latest`` of the stack) of any state machine that
submits Batch jobs, Batch jobs given by id (``--jobs``), or a trace file (``--trace``: no
backend at all). The files are written whole or not at all.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pipeline.cli import options
from pipeline.errors import N2NError


def configure(parser: argparse.ArgumentParser) -> None:
    options.add_backend_options(parser)
    options.add_run_options(parser)
    parser.add_argument(
        "--trace", type=Path, help="analyze a file `n2n trace export` wrote (no backend used)"
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")


def _timeline(args: argparse.Namespace) -> Any:
    if args.trace:
        if args.execution_arn or args.latest or args.jobs:
            raise N2NError("--trace names the run by itself: drop the ARN, --latest or --jobs.")
        from pipeline.analysis.trace import trace_timeline

        return trace_timeline(args.trace)
    from pipeline.analysis.timeline import build_timeline

    conn = options.connect_from(args)
    arn, job_ids = options.run_from(args, conn)
    return build_timeline(conn, arn, job_ids=job_ids)


def _write_whole(timeline: Any, out: Path) -> dict[str, Any]:
    """``write_analysis`` into a fresh folder beside ``out``, then its files into ``out``:
    a failure leaves ``out`` as it was."""
    from pipeline.analysis.export import write_analysis

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        written = write_analysis(timeline, staging)
        out.mkdir(exist_ok=True)
        paths = []
        for path in written["paths"]:
            target = out / Path(path).relative_to(staging)
            Path(path).replace(target)
            paths.append(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {**written, "paths": paths}


def _subject(attrs: dict[str, Any]) -> str:
    if attrs.get("job_ids"):
        return f"Jobs {', '.join(attrs['job_ids'])} ({attrs['status']})"
    return f"Execution {attrs['execution_arn']} ({attrs['status']})"


def run(args: argparse.Namespace) -> int:
    from pipeline.analysis.export import headline

    timeline = _timeline(args)
    written = _write_whole(timeline, args.out)
    print(_subject(timeline.attrs))
    print(f"  steps: {', '.join(timeline.attrs['array_size'])}")
    for line in headline(written["metrics"]):
        print(f"  {line}")
    lines = timeline.attrs["worker_lines"]
    if lines["with_line"] < lines["succeeded"]:
        print(
            f"  {lines['succeeded'] - lines['with_line']} of {lines['succeeded']} succeeded "
            "children printed no n2n.step log line (not this kit's worker, or no logs): "
            "records, load_s, compute_s and write_s stay empty for them."
        )
    print(f"Wrote {len(written['paths'])} files to {args.out}")
    return 0
