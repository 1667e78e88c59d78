"""Capacity what-if: the table, its errors, and the model checked against local runs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from pipeline.analysis.capacity import (
    AT_MEASURED_SLOTS,
    MEASURED,
    CapacityError,
    capacity_figure,
    model_error,
    parse_vcpus,
    slots_for,
    what_if,
)
from pipeline.analysis.timeline import timeline_from
from pipeline.cli.main import main
from tests.analysis.synthetic import synthetic_timeline
from tests.local.e2e import LocalStack, stop_runner

WORK = {"compute_ms_per_id": 5, "skew": 1.0}
TOLERANCE = 0.15


def test_slots_and_vcpus():
    assert [slots_for(v, 1) for v in (0.5, 1, 2, 16)] == [1, 1, 2, 16]
    assert slots_for(4, 0.25) == 16
    assert parse_vcpus("2,4, 8,16") == [2, 4, 8, 16]
    for bad in ("", "2,,4", "two", "0", "-2", "nan"):
        with pytest.raises(CapacityError, match="--vcpus"):
            parse_vcpus(bad)


def test_table_marks_the_measured_point_and_costs():
    timeline = synthetic_timeline(60, slots=3)
    table = what_if(timeline, [1, 2, 4, 8, 4])
    assert list(table["source"][:2]) == [MEASURED, AT_MEASURED_SLOTS]
    model = table[table["source"] == "model"]
    assert sorted(set(model["max_vcpus"])) == [1, 2, 4, 8]
    assert set(model["dependency"]) == {"N_TO_N", "BARRIER"}
    assert model["cost_usd"].nunique() == 1, "Fargate bills child seconds, whatever MaxVcpus"
    one = model[model["max_vcpus"] == 1]
    assert one["makespan_s"].iloc[0] == pytest.approx(one["makespan_s"].iloc[1], rel=0.5)
    assert (model["makespan_s"] > 0).all() and (model["held_usd"] > 0).all()
    assert abs(model_error(table)) < 1e-9, "a synthetic run is its own model"
    figure = capacity_figure(table)
    assert len(figure.axes) == 2


def test_bad_vcpus_is_one_sentence(capsys):
    assert main(["whatif", "--latest", "--vcpus", "2,x"]) == 2
    assert capsys.readouterr().err.startswith("n2n: error: --vcpus must be")


@pytest.fixture(scope="module")
def two_slot_stack(tmp_path_factory, local_env):
    """Two slots per step (MaxVcpus 2, 1-vCPU jobs) on any machine with two or more CPUs."""
    home = tmp_path_factory.mktemp("home")
    local_env.setenv("N2N_HOME", str(home))
    parameters = {f"{step}MaxVcpus": "2" for step in ("Procure", "Process", "Egress")}
    yield LocalStack(home, name="n2n", **parameters)
    stop_runner(home)


@pytest.mark.parametrize("dependency", ["N_TO_N", "BARRIER"])
def test_model_predicts_local_runs_within_15_percent(two_slot_stack, dependency, capsys):
    stack = two_slot_stack
    state = stack.run(
        f"capacity-{dependency.lower()}",
        id_count=600,
        ids_per_node=20,
        work=WORK,
        dependency=dependency,
    )
    assert state.status == "SUCCEEDED"
    table = what_if(timeline_from(stack.conn, state), [2])
    measured, predicted = table["makespan_s"][:2]
    error = model_error(table)
    assert main(["whatif", state.execution_arn, "--vcpus", "1,2,4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 + 3 * 2
    print(f"{dependency}: measured {measured:.2f}s, predicted {predicted:.2f}s, {error:+.1%}")
    assert abs(error) <= TOLERANCE


def test_capacity_notebook_runs(two_slot_stack, tmp_path):
    papermill = pytest.importorskip("papermill")
    notebook = Path(__file__).resolve().parents[2] / "notebooks" / "07_capacity.ipynb"
    assert not any(c.get("outputs") for c in nbformat.read(notebook, 4).cells), "strip outputs"
    stack = two_slot_stack
    stack.run("capacity-notebook", id_count=100, ids_per_node=10, work=WORK)
    out = tmp_path / "07.ipynb"
    papermill.execute_notebook(str(notebook), str(out), parameters={"vcpus": [1, 2, 4]})
    kinds = {o["output_type"] for c in nbformat.read(out, 4).cells for o in c.get("outputs", [])}
    assert "error" not in kinds and "execute_result" in kinds
