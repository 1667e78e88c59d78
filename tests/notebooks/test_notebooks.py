"""The notebooks end to end: the runner executes all five on the local backend (small
sizes, a private N2N_HOME), hands 02's execution on to 03, and writes notebooks and HTML;
the committed notebooks are stripped and parameterized the papermill way."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import nbformat
import papermill
import pytest

from pipeline.cli.main import main
from pipeline.kit_files import notebooks_folder
from pipeline.notebooks import (
    NOTEBOOKS,
    NotebookError,
    find_step,
    handed_off,
    parse_value,
    run_folder,
    write_handoff,
)
from tests.local.e2e import stop_runner

SMALL = {"id_count": "600", "ids_per_node": "20", "work": "{io_ms_per_id: 1, skew: 1}"}
REQUIRED = {
    "01_deploy": {"backend", "stack_name"},
    "02_run": {
        "backend",
        "stack_name",
        "id_count",
        "ids_per_node",
        "work",
        "dependency",
        "execution_name",
    },
    "03_analyze": {"backend", "stack_name", "execution_arn", "out_dir"},
    "04_teardown": {"backend", "stack_name", "purge"},
    "05_compare": {
        "backend",
        "stack_name",
        "id_count",
        "ids_per_node",
        "skews",
        "work",
    },
    "06_report": {"backend", "stack_name", "last_n", "since", "out_dir"},
    "07_capacity": {"backend", "stack_name", "execution_arn", "vcpus"},
}
ASSIGNMENT = re.compile(r"^(\w+)\s*=\s*(.+?)\s+#\s*\S")


def cli(*argv: str) -> tuple[int, str, str]:
    """``n2n *argv`` in-process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def outputs(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for cell in notebook.cells for output in cell.get("outputs", [])]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A private N2N_HOME and quick local settings, inherited by every kernel."""
    home = tmp_path_factory.mktemp("n2n-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("N2N_HOME", str(home))
        patch.setenv("N2N_RUNNER_IDLE_S", "5")
        patch.setenv("N2N_TIME_SCALE", "0.002")
        yield home
    stop_runner(home)


@pytest.fixture(scope="module")
def demo(home, tmp_path_factory):
    """``n2n notebooks run`` of every notebook, small sizes: (folder, exit code, stdout)."""
    folder = tmp_path_factory.mktemp("run")
    parameters = [arg for key, value in SMALL.items() for arg in ("-p", key, value)]
    code, stdout, stderr = cli("notebooks", "run", *parameters, "--out", str(folder))
    assert code == 0, stderr
    return folder, stdout


def executed(folder: Path, name: str) -> nbformat.NotebookNode:
    return nbformat.read(folder / f"{name}.ipynb", as_version=4)


def test_run_writes_every_notebook_and_its_html(demo):
    folder, stdout = demo
    for name in NOTEBOOKS:
        assert (folder / f"{name}.ipynb").is_file()
        assert "<html" in (folder / f"{name}.html").read_text()[:500].lower()
    assert str(folder) in stdout
    assert f"Figures: {folder / 'analysis'}" in stdout


def test_notebooks_ran_in_order_with_small_sizes_and_no_errors(demo):
    folder, _ = demo
    ended = []
    for name in NOTEBOOKS:
        notebook = executed(folder, name)
        assert not [o for o in outputs(notebook) if o.output_type == "error"], name
        papermill_meta = notebook.metadata.papermill
        assert papermill_meta.exception is None
        ended.append(papermill_meta.end_time)
        declared = set(papermill.inspect_notebook(str(NOTEBOOKS[name].path)))
        given = {k: parse_value(v) for k, v in SMALL.items() if k in declared}
        assert {k: v for k, v in papermill_meta.parameters.items() if k in given} == given
    assert ended == sorted(ended)


def test_02_hands_its_execution_to_03(demo):
    folder, _ = demo
    sidecar = json.loads((folder / "02_run.json").read_text())
    assert sidecar["status"] == "SUCCEEDED"
    parameters = executed(folder, "03_analyze").metadata.papermill.parameters
    assert parameters["execution_arn"] == sidecar["execution_arn"]
    assert parameters["out_dir"] == "analysis"


def test_03_shows_the_four_plots_and_saves_the_analysis(demo):
    folder, _ = demo
    images = [
        o for o in outputs(executed(folder, "03_analyze")) if "image/png" in o.get("data", {})
    ]
    assert len(images) == 4
    saved = {path.name for path in (folder / "analysis").iterdir()}
    assert {"timeline.csv", "metrics.json", "gantt.png", "running.png", "lag.png"} <= saved
    metrics = json.loads((folder / "analysis" / "metrics.json").read_text())
    assert metrics["children"]["egress"]["succeeded"] == 30


def test_04_tore_down_and_05_compares_both_modes(demo):
    folder, _ = demo
    teardown = [
        o for o in outputs(executed(folder, "04_teardown")) if "text/html" in o.get("data", {})
    ]
    assert "AWS::StepFunctions::StateMachine" in teardown[-1].data["text/plain"]
    compare = outputs(executed(folder, "05_compare"))
    tables = [o.data["text/html"] for o in compare if "text/html" in o.get("data", {})]
    assert any("measured_gain" in t and "N_TO_N" in t and "BARRIER" in t for t in tables)
    assert any("image/png" in o.get("data", {}) for o in compare)
    streams = "".join(o.get("text", "") for o in compare if o.output_type == "stream")
    assert "N_TO_N, skew 1: " in streams and "BARRIER, skew 1: " in streams


def test_07_models_the_run_02_handed_on_with_whole_vcpus(demo):
    folder, _ = demo
    sidecar = json.loads((folder / "02_run.json").read_text())
    capacity = executed(folder, "07_capacity")
    assert capacity.metadata.papermill.parameters["execution_arn"] == sidecar["execution_arn"]
    texts = "".join(o.get("text", "") for o in outputs(capacity) if o.output_type == "stream")
    assert texts.count("Model error at the measured slots: ") == 1
    (table,) = [o.data["text/plain"] for o in outputs(capacity) if "text/html" in o.get("data", {})]
    assert "2.0 " not in table and "model at measured slots" in table


def test_02_keeps_the_final_state_of_its_bars_as_text(demo):
    folder, _ = demo
    saved = outputs(executed(folder, "02_run"))
    assert not [o for o in saved if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    texts = [o.data["text/plain"] for o in saved if "text/plain" in o.get("data", {})]
    (bars,) = [text for text in texts if text.startswith("procure")]
    # 600 ids at 20 per node: 30 children per step, all finished.
    assert [line.split("|")[0].split() for line in bars.splitlines()] == [
        ["procure", ":", "100%"],
        ["process", ":", "100%"],
        ["egress", ":", "100%"],
    ]
    assert bars.count("30/30") == 3
    assert "egress  : 100%" in (folder / "02_run.html").read_text()


def test_handed_off_reads_what_a_step_wrote_and_none_otherwise(tmp_path):
    write_handoff("02_run", {"execution_arn": "arn:x"}, tmp_path)
    assert handed_off("02_run", "execution_arn", tmp_path) == "arn:x"
    assert handed_off("02_run", "workflow_id", tmp_path) is None
    assert handed_off("09_nothing", "execution_arn", tmp_path) is None


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_committed_notebook_is_stripped_with_one_parameters_cell(name):
    notebook = nbformat.read(NOTEBOOKS[name].path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    lines = [line for line in tagged[0].source.splitlines() if line.strip()]
    assigned = [ASSIGNMENT.match(line) for line in lines]
    assert all(assigned), f"every parameter line is `name = literal  # comment`: {lines}"
    names = [match[1] for match in assigned]
    assert names == list(papermill.inspect_notebook(str(NOTEBOOKS[name].path)))
    assert REQUIRED[name] <= set(names)
    for match in assigned:
        json.loads(match[2].replace("True", "true").replace("False", "false"))


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebook_cells_only_call_the_package(name):
    notebook = nbformat.read(NOTEBOOKS[name].path, as_version=4)
    source = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert not re.search(r"^\s*(def|class|async def)\s", source, re.MULTILINE)
    assert not re.search(r"pipeline\.(local|aws)\b", source)
    assert any(cell.cell_type == "markdown" for cell in notebook.cells)


def test_registry_covers_the_notebooks_folder_in_order():
    assert list(NOTEBOOKS) == sorted(NOTEBOOKS)
    assert {path.stem for path in notebooks_folder().glob("*.ipynb")} == set(NOTEBOOKS)
    assert find_step("deploy").name == "01_deploy"
    assert find_step("03_analyze.ipynb").name == "03_analyze"


def test_a_failing_notebook_stops_the_run_with_one_sentence(home, tmp_path):
    code, _, stderr = cli(
        "notebooks", "run", "run", "analyze", "-p", "dependency", "SIDEWAYS", "--out", str(tmp_path)
    )
    assert code == 2
    assert stderr.count("\n") == 1
    assert stderr.startswith("n2n: error: Notebook 02_run failed in cell [")
    assert "InvalidRunInput: dependency must be one of N_TO_N, BARRIER" in stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "02_run.html").is_file()
    assert not (tmp_path / "03_analyze.ipynb").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nope"], "There is no notebook 'nope': use one of 01_deploy,"),
        (["deploy", "-p", "id_count", "5"], "has a parameter id_count: check the -p names."),
    ],
)
def test_bad_names_fail_before_any_kernel_starts(argv, message, tmp_path):
    code, _, stderr = cli("notebooks", "run", *argv, "--out", str(tmp_path / "out"))
    assert code == 2
    assert message in stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2000", 2000),
        ("1e3", 1000.0),
        ("0.5", 0.5),
        ("true", True),
        ("False", False),
        ("null", None),
        ("[1.0, 2]", [1.0, 2]),
        ('{"skew": 1}', {"skew": 1}),
        ("{skew: 1, compute_ms_per_id: 0.5}", {"skew": 1, "compute_ms_per_id": 0.5}),
        ("N_TO_N", "N_TO_N"),
        ("arn:aws:states:us-east-1:1:execution:sm:x", "arn:aws:states:us-east-1:1:execution:sm:x"),
        ("2024-01-01", "2024-01-01"),
        ("", ""),
        ("a: b: c", "a: b: c"),
    ],
)
def test_parameter_values_parse_as_literals(text, value):
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_run_folder_is_a_utc_timestamp(tmp_path):
    folder = run_folder(tmp_path)
    assert folder.is_dir()
    assert re.fullmatch(r"\d{8}T\d{6}Z", folder.name)


def test_notebook_error_is_a_kit_error():
    from pipeline.errors import N2NError

    assert issubclass(NotebookError, N2NError)
