"""A run's steps: named by job name, ordered by dependsOn, whatever pipeline submitted them."""

from __future__ import annotations

import pytest

from pipeline.analysis.steps import chain_order, dependency_mode, step_names
from pipeline.analysis.timeline import job_id_list, worker_step


@pytest.mark.parametrize(
    ("job_names", "state_names", "expected"),
    [
        # this kit: "<step>-<workflow id>"
        (
            ["procure-20260131-ab12", "process-20260131-ab12", "egress-20260131-ab12"],
            None,
            ["procure", "process", "egress"],
        ),
        # a shared prefix and suffix both go, inner separators stay
        (["etl_raw.extract_v2", "etl_raw.load_all_v2"], None, ["extract", "load_all"]),
        # nothing shared: the names as they are
        (["Download", "Resize"], None, ["Download", "Resize"]),
        # one job: its whole name
        (["nightly-extract"], None, ["nightly-extract"]),
        # the same job name twice: the states that submitted them
        (["job", "job"], ["First pass", "Second pass"], ["First pass", "Second pass"]),
        # the same job name from the same state (a loop): numbered
        (["job", "job", "job"], ["Again", "Again", "Again"], ["job", "job#2", "job#3"]),
    ],
)
def test_step_names(job_names, state_names, expected):
    assert step_names(job_names, state_names) == expected


def _job(created: int, *depends: str, kind: str | None = None) -> dict:
    items = [{"jobId": d, **({"type": kind} if kind else {})} for d in depends]
    return {"createdAt": created, "dependsOn": items}


def test_dependencies_order_the_steps_before_creation_time_and_given_order():
    # c was created first but waits for b, which waits for a; x is independent and last
    jobs = {"c": _job(1, "b"), "x": _job(9), "b": _job(5, "a"), "a": _job(7)}
    assert chain_order(jobs) == ["a", "b", "c", "x"]


def test_array_children_dependencies_name_their_parent():
    jobs = {"second": _job(1, "first:3"), "first": _job(2)}
    assert chain_order(jobs) == ["first", "second"]


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [(["N_TO_N", "N_TO_N"], "N_TO_N"), ([None, None], "BARRIER"), (["N_TO_N", None], None)],
)
def test_dependency_mode(kinds, expected):
    parents = {"a": _job(1)}
    for number, kind in enumerate(kinds):
        parents[f"s{number}"] = _job(2 + number, "a", kind=kind)
    assert dependency_mode(parents) == expected


def test_a_step_without_dependencies_is_not_chained():
    assert dependency_mode({"a": _job(1), "b": _job(2)}) is None


def test_the_kit_worker_step_comes_from_the_job_command():
    parent = {"container": {"command": ["python", "-m", "pipeline.worker", "process"]}}
    assert worker_step(parent, "resize") == "process"
    assert worker_step({"container": {"command": ["sh", "-c", "true"]}}, "resize") == "resize"


def test_job_ids_separated_by_commas_or_spaces():
    assert job_id_list("a, b,c  d") == ["a", "b", "c", "d"]
    assert job_id_list(["a", " b "]) == ["a", "b"]
    assert job_id_list("") == []
