"""``n2n analyze`` on a local run: the files it writes and the headline it prints."""

from __future__ import annotations

import json

import pandas as pd

from pipeline.analysis.timeline import TIMELINE_COLUMNS
from pipeline.cli.main import main as cli
from tests.analysis.timelines import read_timeline_csv

FILES = {"timeline.csv", "metrics.json"} | {
    f"{name}.{suffix}"
    for name in ("gantt", "running", "lag", "queue_vs_run")
    for suffix in ("png", "svg")
}


def test_analyze_writes_the_timeline_metrics_and_figures(local_stack, tmp_path, capsys):
    state = local_stack.run(
        id_count=200, ids_per_node=10, work={"skew": 1.0, "compute_ms_per_id": 1}
    )
    assert cli(["analyze", state.execution_arn, "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == FILES
    timeline = read_timeline_csv(tmp_path / "timeline.csv")
    assert list(timeline.columns) == TIMELINE_COLUMNS
    assert len(timeline) == 60
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["makespan_s"] > 0
    assert set(metrics["early_start_fraction"]) == {"process", "egress"}
    out = capsys.readouterr().out
    assert "n2n_gain" in out and "Wrote 10 files" in out
    assert (tmp_path / "gantt.png").read_bytes().startswith(b"\x89PNG")
    assert pd.api.types.is_datetime64_any_dtype(timeline.started_at)


def test_analyze_names_one_execution(local_stack, tmp_path, capsys):
    assert cli(["analyze", "--out", str(tmp_path)]) == 2
    assert "give its ARN or --latest" in capsys.readouterr().err
