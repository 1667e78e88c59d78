"""The report on the local backend: a stack with a successful run, a run whose children
failed (one attempt each) and an execution with a bad input; ``n2n report`` writes the
executed notebook and its HTML with code hidden, and fails with the failing cell's error."""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from pipeline.cli.main import main
from pipeline.reports.report import (
    COLUMNS,
    Report,
    ReportError,
    build_report,
    executions_view,
    failures_per_step,
    failures_summary,
    headline,
    parse_since,
    short_name,
    window_executions,
)
from pipeline.reports.schedule import ScheduleError, crontab_line
from tests.local.e2e import LocalStack, stop_runner

STACK = "reported"


def cli(*argv: str) -> tuple[int, str, str]:
    """``n2n *argv`` in-process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, local_env):
    """One attempt per child, so fail_probability makes children fail for good; three
    executions, oldest first: good, flaky (failed children), broken (bad input)."""
    home = tmp_path_factory.mktemp("report-home")
    local_env.setenv("N2N_HOME", str(home))
    deployed = LocalStack(home, name=STACK, RetryAttempts="1")
    assert deployed.run("good", id_count=40, ids_per_node=4).status == "SUCCEEDED"
    flaky = deployed.run("flaky", id_count=80, ids_per_node=4, work={"fail_probability": 0.3})
    assert flaky.status == "FAILED"
    broken = deployed.conn.sfn.start_execution(
        stateMachineArn=deployed.outputs["StateMachineArn"],
        name="broken",
        input=json.dumps({"id_count": 0, "ids_per_node": 4}),
    )
    assert deployed.wait(broken["executionArn"]).status == "FAILED"
    yield deployed
    stop_runner(home)


def test_every_execution_has_a_row_with_failures_and_reasons(stack):
    report = build_report(stack.conn, STACK)
    table = report.executions.set_index("name")
    assert list(report.executions.columns) == COLUMNS
    assert list(table.index) == ["broken", "flaky", "good"]  # newest first
    good, flaky, broken = table.loc["good"], table.loc["flaky"], table.loc["broken"]
    assert (good.status, good.id_count, good.array_size, good.dependency) == (
        "SUCCEEDED",
        40,
        10,
        "N_TO_N",
    )
    assert good.failed_children == 0 and good.makespan_s > 0 and good.vcpu_s > 0
    # Ten children per step, each billed Fargate's one-minute minimum at 1 vCPU and 2 GiB
    # ($0.000011244 per vCPU-second and $0.0000012347 per GB-second, AWS's ECS example).
    assert good.fargate_usd == pytest.approx(30 * 60 * (0.000011244 + 2 * 0.0000012347), rel=1e-4)
    assert good.analysis_error == "" and pd.notna(good.n2n_gain)
    assert flaky.status == "FAILED" and flaky.failed_children > 0
    assert report.failures.loc["flaky", "procure"] > 0
    assert report.failures.loc["flaky"].sum() == flaky.failed_children
    assert broken.analysis_error.startswith("InvalidRunInput: id_count must be")
    assert pd.isna(broken.makespan_s) and pd.isna(broken.failed_children)
    assert "broken" not in report.failures.index
    assert report.latest.attrs["execution_name"] == "flaky"  # newest that could be analysed


def test_the_window_is_the_newest_n_or_everything_since_a_date(stack):
    names = [item["name"] for item in window_executions(stack.conn, STACK, last_n=2)]
    assert names == ["broken", "flaky"]
    assert len(window_executions(stack.conn, STACK, last_n="0")) == 3  # strings, as SageMaker
    assert window_executions(stack.conn, STACK, since="2999-01-01") == []
    assert len(window_executions(stack.conn, STACK, last_n=0, since="2000-01-01T00:00")) == 3
    with pytest.raises(ReportError, match=r"'yesterday' is not an ISO date"):
        parse_since("yesterday")
    assert parse_since("2024-05-01").isoformat() == "2024-05-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def reported(stack, tmp_path_factory):
    """``n2n report`` of the stack into a folder: (folder, exit code, stdout, stderr)."""
    folder = tmp_path_factory.mktemp("report") / "out"
    return folder, *cli("report", "--stack", STACK, "--last", "5", "--out", str(folder))


def test_n2n_report_writes_the_notebook_and_html_with_code_hidden(reported):
    folder, code, stdout, stderr = reported
    assert code == 0, stderr
    assert f"{folder / '06_report.html'}" in stdout
    notebook = nbformat.read(folder / "06_report.ipynb", as_version=4)
    parameters = notebook.metadata.papermill.parameters
    assert parameters == {
        "backend": "local",
        "stack_name": STACK,
        "last_n": 5,
        "since": "",
        "out_dir": ".",
    }
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 3
    html = (folder / "06_report.html").read_text()
    assert "InvalidRunInput" in html and "failed_children" in html
    assert html.index("3 runs, 1 succeeded") < html.index("failed_children")  # headline first
    assert "build_report(" not in html and "last_n = " not in html  # code cells left out
    assert "data:image/png;base64," in html  # figures embedded: one self-contained file
    saved = {path.name for path in folder.iterdir()}
    assert {"executions.csv", "failures.csv", "trends.png", "failures.png", "gantt.png"} <= saved
    table = pd.read_csv(folder / "executions.csv")
    assert list(table["name"]) == ["broken", "flaky", "good"]


def test_a_failing_report_exits_non_zero_with_the_cells_error(stack, tmp_path):
    code, _, stderr = cli("report", "--stack", "nope", "--out", str(tmp_path))
    assert code == 2
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert stderr.startswith("n2n: error: Notebook 06_report failed in cell [")
    assert "RunError: Stack nope does not exist" in stderr
    assert (tmp_path / "06_report.html").is_file()


def test_default_folder_is_a_utc_timestamp_under_reports(stack, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, stderr = cli("report", "--stack", STACK, "--since", "2999-01-01")
    assert code == 0, stderr
    (folder,) = (tmp_path / "reports").iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}Z", folder.name)
    assert (folder / "06_report.html").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "last week"], "--since 'last week' is not an ISO date or time"),
        (["--last", "-1"], "--last -1 is negative"),
        (["--print-cron", "0 6 * *"], "'0 6 * *' has 4 fields, not the 5 of a schedule"),
    ],
)
def test_bad_options_fail_in_one_sentence_before_any_kernel(argv, message, tmp_path):
    code, _, stderr = cli("report", *argv, "--out", str(tmp_path / "out"))
    assert code == 2
    assert message in stderr and stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_print_cron_prints_one_line_with_absolute_paths_and_this_interpreter(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("N2N_HOME", str(tmp_path / "home"))
    code, stdout, _ = cli(
        "report",
        "--stack",
        "prod",
        "--since",
        "2024-05-01",
        "--out",
        "daily",
        "--print-cron",
        "0 6 * * *",
    )
    assert code == 0
    (line,) = stdout.splitlines()
    python = str(Path(sys.executable).absolute())
    assert line == (
        f"0 6 * * * cd {tmp_path} && mkdir -p reports && N2N_HOME={tmp_path / 'home'} "
        f"{python} -m pipeline.cli report --backend local --stack prod --since 2024-05-01 "
        f"--out {tmp_path / 'daily'} >> {tmp_path / 'reports' / 'cron.log'} 2>&1"
    )
    assert not list(tmp_path.iterdir())  # printed only: nothing written, no crontab touched


def test_crontab_line_escapes_percent_and_quotes_paths(tmp_path):
    line = crontab_line("*/5 * * * *", ["--stack", "a%b"], cwd=tmp_path / "my dir", environ={})
    assert line.startswith(f"*/5 * * * * cd '{tmp_path / 'my dir'}' && mkdir -p reports && ")
    assert "--stack a\\%b >> " in line and "N2N_HOME" not in line
    with pytest.raises(ScheduleError, match="not the 5 of a schedule"):
        crontab_line("cron(0 6 * * ? *)", [], environ={})


def _report(failures: dict[str, dict[str, int]]) -> Report:
    """A report of hand-written rows: two analysed executions and their failures."""
    rows = [
        {
            "name": "2024-05-01-nightly-run-with-a-long-name",
            "status": "SUCCEEDED",
            "start": pd.Timestamp("2024-05-01T06:00Z"),
            "makespan_s": 10.0,
            "failed_children": sum(failures["2024-05-01-nightly-run-with-a-long-name"].values()),
            "fargate_usd": 0.25,
            "vcpu_s": 12.5,
            "analysis_error": "",
            "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:sm:nightly",
        },
        {
            "name": "b",
            "status": "FAILED",
            "start": pd.Timestamp("2024-05-02T06:00Z"),
            "makespan_s": 30.0,
            "failed_children": sum(failures["b"].values()),
            "fargate_usd": 0.5,
            "vcpu_s": 20.0,
            "analysis_error": "",
            "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:sm:b",
        },
    ]
    executions = pd.DataFrame(rows, columns=COLUMNS)
    table = pd.DataFrame(failures).T.rename_axis(index="name", columns="step")
    return Report("prod", executions, table, None)


def test_headline_and_failures_say_it_in_one_line_each():
    report = _report(
        {
            "2024-05-01-nightly-run-with-a-long-name": {"procure": 0, "process": 0, "egress": 0},
            "b": {"procure": 2, "process": 0, "egress": 3},
        }
    )
    assert headline(report) == (
        "2 runs, 1 succeeded · p50 makespan 20.0 s · estimated Fargate cost 0.7500 USD "
        "(32.5 vCPU-s used) · 5 failed children"
    )
    assert failures_summary(report) == (
        "5 children failed in 1 of the 2 analysed executions: 2 in procure, 3 in egress."
    )
    (axes,) = failures_per_step(report).axes
    assert [label.get_text() for label in axes.get_yticklabels()] == ["b"]


def test_without_failures_there_is_a_sentence_and_no_figure():
    quiet = dict.fromkeys(("procure", "process", "egress"), 0)
    report = _report({"2024-05-01-nightly-run-with-a-long-name": quiet, "b": quiet})
    assert failures_per_step(report) is None
    assert failures_summary(report) == "No child failed in the 2 analysed executions."


def test_names_are_shortened_in_the_table_shown_and_the_arn_left_to_the_csv():
    name = "2024-05-01-nightly-run-with-a-long-name"
    assert short_name(name) == "2024-05-01-nigh…ong-name"
    assert len(short_name(name)) == 24 and short_name("b") == "b"
    quiet = dict.fromkeys(("procure", "process", "egress"), 0)
    shown = executions_view(_report({name: quiet, "b": quiet}))
    assert list(shown.index) == ["2024-05-01-nigh…ong-name", "b"]
    assert "execution_arn" not in shown.columns
    # The start to the second in UTC; no column that is empty in every row.
    assert list(shown["start_utc"]) == ["2024-05-01 06:00:00", "2024-05-02 06:00:00"]
    assert "analysis_error" not in shown.columns


def test_the_table_shown_keeps_analysis_error_when_a_row_has_one_and_rounds_costs():
    quiet = dict.fromkeys(("procure", "process", "egress"), 0)
    report = _report({"2024-05-01-nightly-run-with-a-long-name": quiet, "b": quiet})
    report.executions.loc[1, ["analysis_error", "fargate_usd"]] = ["InvalidRunInput: bad", 0.123456]
    shown = executions_view(report)
    assert list(shown["analysis_error"]) == ["", "InvalidRunInput: bad"]
    assert list(shown["fargate_usd"]) == [0.25, 0.1235]


def test_the_headline_counts_a_run_that_could_not_be_analysed_but_not_its_metrics():
    report = _report(
        {
            "2024-05-01-nightly-run-with-a-long-name": {"procure": 1, "process": 1, "egress": 1},
            "b": {"procure": 2, "process": 2, "egress": 2},
        }
    )
    broken = {"name": "c", "status": "FAILED", "start": pd.Timestamp("2024-05-03T06:00Z")}
    broken["analysis_error"] = "InvalidRunInput: id_count must be at least 1"
    executions = pd.concat([report.executions, pd.DataFrame([broken])], ignore_index=True)
    report = Report("prod", executions, report.failures, None)
    # Three runs, one succeeded; makespans 10 and 30 s (the third has none): p50 20 s; bills
    # 0.25 + 0.5; vCPU-s 12.5 + 20; failed children 3 + 6.
    assert headline(report) == (
        "3 runs, 1 succeeded · p50 makespan 20.0 s · estimated Fargate cost 0.7500 USD "
        "(32.5 vCPU-s used) · 9 failed children"
    )
