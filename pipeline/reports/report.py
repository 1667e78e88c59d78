"""The data of the scheduled report (``06_report.ipynb``, ``n2n report``): the stack's
executions in a window, one row each with its input and headline metrics, the failed
children per step, and the timeline of the newest execution that could be analysed.

An execution whose analysis fails (no Batch jobs yet, an input it cannot read, a client
error) keeps its row, with the reason in ``analysis_error`` and its metrics empty: a
report that silently dropped the runs that went wrong would hide what it is for.

Everything goes through boto3-shaped clients and the analysis modules, so the report reads
AWS and the local backend alike.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pipeline.analysis.metrics import compute_metrics
from pipeline.analysis.plots import STYLE, gantt, step_color
from pipeline.analysis.timeline import timeline_from
from pipeline.errors import N2NError
from pipeline.runs import STEPS, run_state, state_machine_arn
from pipeline.spec import parse_run_input

COLUMNS = [
    "name",
    "status",
    "start",
    "duration_s",
    "id_count",
    "array_size",
    "dependency",
    "makespan_s",
    "n2n_gain",
    "failed_children",
    "fargate_usd",
    "vcpu_s",
    "analysis_error",
    "execution_arn",
]
COUNTS = ("id_count", "array_size", "failed_children")
DEFAULT_LAST_N = 20
NAME_WIDTH = 24
"""Execution names longer than this are shortened in the tables shown (not in the CSV)."""
SHOWN_COLUMNS = [c for c in COLUMNS if c != "execution_arn"]


class ReportError(N2NError):
    """A report window that cannot be read."""


def parse_since(since: str | datetime | None) -> datetime | None:
    """The start of the window as an aware UTC datetime (an ISO date or time; naive means
    UTC); None for an empty value."""
    if not since:
        return None
    try:
        moment = since if isinstance(since, datetime) else datetime.fromisoformat(str(since))
    except ValueError:
        raise ReportError(
            f"--since {since!r} is not an ISO date or time: use e.g. 2024-05-01 or "
            "2024-05-01T06:00."
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def window_executions(
    conn: Any, stack: str, last_n: int | str = DEFAULT_LAST_N, since: str | None = None
) -> list[dict[str, Any]]:
    """The stack's executions started at or after ``since``, newest first, at most
    ``last_n`` of them (0: no limit). Values may come as strings (SageMaker notebook jobs
    pass every parameter as one)."""
    start = parse_since(since)
    pages = conn.sfn.get_paginator("list_executions").paginate(
        stateMachineArn=state_machine_arn(conn, stack)
    )
    found = (item for page in pages for item in page["executions"])
    if start:
        # ListExecutions returns the newest first: stop at the first one before the window.
        found = itertools.takewhile(lambda item: item["startDate"] >= start, found)
    return list(itertools.islice(found, int(last_n) or None))


def _seconds(start: Any, stop: Any) -> float | None:
    return (stop - start).total_seconds() if start and stop else None


def _first_line(error: BaseException) -> str:
    text = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass
class Analysed:
    """One execution of the report: its row, failed children per step and timeline."""

    row: dict[str, Any]
    failures: dict[str, int]
    timeline: pd.DataFrame | None = None


def analyse_execution(conn: Any, execution: dict[str, Any]) -> Analysed:
    """The report row of one ``list_executions`` item; the reason in ``analysis_error``
    when its timeline or metrics cannot be had."""
    row: dict[str, Any] = {
        "name": execution["name"],
        "status": execution["status"],
        "start": pd.Timestamp(execution["startDate"]).tz_convert(UTC),
        "duration_s": _seconds(execution["startDate"], execution.get("stopDate")),
        "execution_arn": execution["executionArn"],
        "analysis_error": "",
    }
    try:
        state = run_state(conn, execution["executionArn"])
        spec = parse_run_input(state.input)
        row.update(id_count=spec.id_count, array_size=spec.job_size, dependency=spec.dependency)
        if not state.jobs:
            reason = state.cause or state.error or f"the execution is {state.status}"
            raise ReportError(f"no Batch jobs were submitted ({reason})")
        timeline = timeline_from(conn, state)
        metrics = compute_metrics(timeline)
    except (N2NError, ClientError, BotoCoreError) as error:  # a run that cannot be analysed
        row["analysis_error"] = _first_line(error)
        return Analysed(row, {})
    failures = {step: counts["failed"] for step, counts in metrics["children"].items()}
    row.update(
        makespan_s=metrics["makespan_s"],
        n2n_gain=metrics["n2n_gain"],
        failed_children=sum(failures.values()),
        fargate_usd=metrics["estimated_compute_cost_usd"],
        vcpu_s=metrics["vcpu_s"],
    )
    return Analysed(row, failures, timeline)


@dataclass
class Report:
    """The report's data: the executions table (newest first), failed children per step
    (one row per analysed execution) and the timeline of the newest analysed execution."""

    stack: str
    executions: pd.DataFrame
    failures: pd.DataFrame
    latest: pd.DataFrame | None


def build_report(
    conn: Any, stack: str, last_n: int | str = DEFAULT_LAST_N, since: str | None = None
) -> Report:
    """Analyse every execution of the window (see :func:`window_executions`)."""
    analysed = [
        analyse_execution(conn, item) for item in window_executions(conn, stack, last_n, since)
    ]
    executions = pd.DataFrame([a.row for a in analysed], columns=COLUMNS)
    executions = executions.astype(
        {"start": "datetime64[ns, UTC]", **dict.fromkeys(COUNTS, "Int64")}
    )
    failures = pd.DataFrame(
        {a.row["name"]: a.failures for a in analysed if a.timeline is not None},
        index=list(STEPS),
        dtype=float,
    ).T.rename_axis(index="name", columns="step")
    latest = next((a.timeline for a in analysed if a.timeline is not None), None)
    return Report(stack, executions, failures.fillna(0).astype(int), latest)


def headline(report: Report) -> str:
    """One line first: runs, how many succeeded, p50 makespan, total Fargate bill and
    failed children of the window."""
    table = report.executions
    if table.empty:
        return f"Stack {report.stack}: no executions in the window."
    succeeded = int((table["status"] == "SUCCEEDED").sum())
    makespan = table["makespan_s"].median()
    p50 = "n/a" if pd.isna(makespan) else f"{makespan:.1f} s"
    return (
        f"{len(table)} runs, {succeeded} succeeded · p50 makespan {p50} · "
        f"estimated Fargate cost {table['fargate_usd'].sum():.4f} USD "
        f"({table['vcpu_s'].sum():.1f} vCPU-s used) · "
        f"{int(table['failed_children'].sum())} failed children"
    )


def summary(report: Report) -> str:
    """One line: how many executions, their statuses and how many could not be analysed."""
    table = report.executions
    if table.empty:
        return f"Stack {report.stack} has no executions in the window."
    statuses = ", ".join(f"{n} {s}" for s, n in table["status"].value_counts().items())
    unanalysed = int((table["analysis_error"] != "").sum())
    first, last = table["start"].min(), table["start"].max()
    return (
        f"{len(table)} executions of stack {report.stack} started {first:%Y-%m-%d %H:%M} to "
        f"{last:%Y-%m-%d %H:%M} UTC: {statuses}; {unanalysed} could not be analysed."
    )


def short_name(name: str, width: int = NAME_WIDTH) -> str:
    """``name`` cut in the middle to ``width`` characters when longer (its start and end
    stay, so UUIDs and dated names remain distinct)."""
    if len(name) <= width:
        return name
    tail = min(8, (width - 1) // 2)
    return f"{name[: width - 1 - tail]}…{name[-tail:]}"


def executions_view(report: Report) -> pd.DataFrame:
    """The executions table as shown, one row per execution indexed by its short name: no
    ARN (the CSV keeps names and ARNs in full), the start to the second (UTC), seconds and
    costs rounded to what they can tell, and ``analysis_error`` only when a row has one."""
    shown = report.executions[SHOWN_COLUMNS].copy()
    shown["name"] = shown["name"].map(short_name)
    shown["start"] = shown["start"].dt.strftime("%Y-%m-%d %H:%M:%S")
    shown = shown.rename(columns={"start": "start_utc"})
    if (shown["analysis_error"] == "").all():
        shown = shown.drop(columns="analysis_error")
    return shown.set_index("name").round(
        {"duration_s": 1, "makespan_s": 2, "n2n_gain": 3, "fargate_usd": 4, "vcpu_s": 2}
    )


def failures_summary(report: Report) -> str:
    """One sentence on the failed children of the analysed executions."""
    analysed = len(report.failures)
    failed = report.failures.sum(axis=1)
    if not failed.any():
        return f"No child failed in the {analysed} analysed executions."
    steps = report.failures.sum()
    per_step = ", ".join(f"{steps[step]} in {step}" for step in steps.index if steps[step])
    return (
        f"{int(failed.sum())} children failed in {int((failed > 0).sum())} of the {analysed} "
        f"analysed executions: {per_step}."
    )


def _figure(rows: int) -> tuple[Figure, list[Any]]:
    width, height = STYLE["figsize"]
    figure = Figure(figsize=(width, height / 2 * rows), dpi=STYLE["dpi"], layout="constrained")
    return figure, list(figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0])


def trends(report: Report) -> Figure:
    """Makespan and vCPU-seconds used per execution against its start time (analysed
    executions only; failed ones marked). The Fargate bill is not drawn: children that
    last under a minute all bill the minimum, so it barely moves between runs."""
    figure, axes = _figure(2)
    table = report.executions.sort_values("start")
    analysed = table[table["analysis_error"] == ""]
    failed = analysed["status"] != "SUCCEEDED"
    for ax, column, label in zip(
        axes,
        ("makespan_s", "vcpu_s"),
        ("makespan (s)", "vCPU-seconds used"),
        strict=True,
    ):
        ax.plot(analysed["start"], analysed[column], marker="o", color=step_color("process", 2))
        ax.scatter(
            analysed.loc[failed, "start"],
            analysed.loc[failed, column],
            marker="x",
            color="#d62728",
            zorder=3,
            label="did not succeed",
        )
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=STYLE["grid_alpha"])
    axes[0].set_title(f"Executions of stack {report.stack} over time")
    if failed.any():
        axes[0].legend(**STYLE["legend"])
    axes[-1].set_xlabel("execution start (UTC)")
    figure.autofmt_xdate()
    return figure


def failures_per_step(report: Report) -> Figure | None:
    """Failed children per step of each analysed execution that lost any, stacked, one
    horizontal bar per execution (short names), oldest at the top; None when no child
    failed (:func:`failures_summary` says so in one sentence)."""
    order = report.executions.sort_values("start")["name"]
    table = report.failures.reindex([name for name in order if name in report.failures.index])
    table = table[table.sum(axis=1) > 0]
    if table.empty:
        return None
    width, _ = STYLE["figsize"]
    figure = Figure(
        figsize=(width, 1.0 + 0.35 * len(table)), dpi=STYLE["dpi"], layout="constrained"
    )
    axes = figure.add_subplot()
    labels = [short_name(name) for name in table.index]
    left = pd.Series(0, index=table.index)
    for position, step in enumerate(table.columns, start=1):
        axes.barh(labels, table[step], left=left, color=step_color(step, position), label=step)
        left = left + table[step]
    axes.invert_yaxis()
    axes.set_title(f"Failed children per step — stack {report.stack}")
    axes.set_xlabel("failed children")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=STYLE["grid_alpha"], axis="x")
    axes.legend(**STYLE["legend"])
    return figure


def latest_gantt(report: Report) -> Figure:
    """The per-index Gantt of the newest analysed execution (a note when there is none)."""
    if report.latest is not None:
        return gantt(report.latest)
    figure, (axes,) = _figure(1)
    axes.set_axis_off()
    axes.text(0.5, 0.5, "No execution in the window could be analysed.", ha="center")
    return figure


FIGURES = {"trends": trends, "failures": failures_per_step, "gantt": latest_gantt}


def write_report(report: Report, out_dir: str | Path) -> list[Path]:
    """Save ``executions.csv``, ``failures.csv`` and the figures (PNG) under ``out_dir``
    (no failures figure when nothing failed); return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "executions.csv", out / "failures.csv"]
    report.executions.to_csv(paths[0], index=False)
    report.failures.to_csv(paths[1])
    for name, draw in FIGURES.items():
        figure = draw(report)
        if figure is not None:
            paths.append(out / f"{name}.png")
            figure.savefig(paths[-1])
    return paths
