"""Write one run's analysis to a folder: ``timeline.csv``, ``metrics.json`` and the four
figures as PNG and SVG — what ``n2n analyze`` and ``03_analyze.ipynb`` save."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.analysis.metrics import compute_metrics
from pipeline.analysis.plots import save_figures


def write_analysis(timeline: pd.DataFrame, out_dir: str | Path) -> dict[str, Any]:
    """Save the timeline, its metrics and figures under ``out_dir``; return the metrics
    and the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timeline.to_csv(out / "timeline.csv", index=False)
    metrics = compute_metrics(timeline)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, allow_nan=False) + "\n")
    figures = save_figures(timeline, out)
    return {
        "metrics": metrics,
        "paths": [out / "timeline.csv", out / "metrics.json", *figures],
    }


def _number(value: Any, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def headline(metrics: dict[str, Any]) -> list[str]:
    """The headline figures of a run, one line each (name, then value)."""
    model = metrics["model"]
    error = model.get("error")
    rows = [
        ("makespan_s", _number(metrics["makespan_s"], 2)),
        (
            "model_makespan_s",
            _number(model["makespan_s"][model["dependency"]], 2)
            + (f"  (model error {error:+.1%})" if error is not None else ""),
        ),
        ("barrier_makespan_s", _number(metrics["barrier_makespan_s"], 2)),
        ("n2n_gain", _number(metrics["n2n_gain"], 3)),
        ("first_start_s", _number(model["first_start_s"], 2)),
    ]
    rows += [
        (f"latency_p50_s[{step}]", _number(value["p50"], 3))
        for step, value in model["latency_s"].items()
    ]
    rows += [
        (f"early_start[{step}]", _number(value, 3))
        for step, value in metrics["early_start_fraction"].items()
    ]
    rows += [(f"peak_running[{step}]", str(peak)) for step, peak in metrics["peak_running"].items()]
    rows += [
        ("Fargate bill (USD)", _number(metrics["estimated_compute_cost_usd"], 4)),
        ("vCPU-seconds used", _number(metrics["vcpu_s"], 2)),
    ]
    return [f"{name:<24}{value}" for name, value in rows]
