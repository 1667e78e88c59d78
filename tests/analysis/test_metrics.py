"""Metrics on hand-made timelines with known answers."""

from __future__ import annotations

import json

import pytest

from pipeline.analysis.cost import FARGATE_PRICES, estimated_cost
from pipeline.analysis.metrics import (
    compute_metrics,
    finished_curve,
    lag,
    mean_running,
    running_curve,
)
from pipeline.analysis.model import peak_running
from tests.analysis import timelines

ONE_USD_PER_VCPU_SECOND = {"usd_per_vcpu_hour": 3600.0, "usd_per_gb_hour": 0.0}


def metrics_of(spans, **options) -> dict:
    """Metrics of a hand-made timeline, checked to be strict JSON."""
    built = timelines.build(
        spans, failed=options.pop("failed", ()), attrs=options.pop("attrs", None)
    )
    metrics = compute_metrics(built, **options)
    json.dumps(metrics, allow_nan=False)
    return metrics


def test_strict_barrier_has_no_early_starts_and_the_model_replays_it() -> None:
    metrics = metrics_of(timelines.BARRIER, attrs={"input": {"dependency": "BARRIER"}})
    assert metrics["makespan_s"] == 11
    assert metrics["early_start_fraction"] == {"process": 0.0, "egress": 0.0}
    assert metrics["lag_s"]["process"] == {"p50": 1.0, "p90": 2.6, "max": 3.0}
    assert metrics["lag_s"]["egress"]["p50"] >= 0
    assert metrics["peak_running"] == {"procure": 2, "process": 2, "egress": 2}
    # Every child started the moment its barrier and a slot allowed: no latency, so the
    # model replays 11 s, and the same run times chained N_TO_N take 8 (timelines.N_TO_N).
    assert metrics["model"]["latency_s"]["process"] == {"p50": 0.0, "p90": 0.0}
    assert metrics["barrier_makespan_s"] == 11
    assert metrics["model"]["error"] == 0.0
    assert metrics["n2n_gain"] == pytest.approx(3 / 11)


def test_n_to_n_gains_over_the_barrier_with_the_same_run_times() -> None:
    metrics = metrics_of(timelines.N_TO_N)
    assert metrics["makespan_s"] == 8
    assert metrics["early_start_fraction"] == pytest.approx({"process": 2 / 3, "egress": 2 / 3})
    # Process never ran two children at once here, so the model gives it one slot.
    assert metrics["peak_running"] == {"procure": 2, "process": 1, "egress": 2}
    assert metrics["model"]["slots"] == {"procure": 2, "process": 1, "egress": 2}
    assert metrics["barrier_makespan_s"] == 5 + 5 + 3
    assert metrics["n2n_gain"] == pytest.approx(1 - 8 / 13)


def test_given_slots_feed_the_model() -> None:
    metrics = metrics_of(timelines.N_TO_N, slots=dict.fromkeys(("procure", "process", "egress"), 2))
    assert metrics["model"]["slots_source"] == "argument"
    assert metrics["barrier_makespan_s"] == 11
    assert metrics["n2n_gain"] == pytest.approx(3 / 11)
    assert metrics["model"]["makespan_s"]["N_TO_N"] == 8


def test_full_overlap_starts_every_later_child_early() -> None:
    metrics = metrics_of(timelines.FULL_OVERLAP)
    assert metrics["early_start_fraction"] == {"process": 1.0, "egress": 1.0}


def test_one_straggler() -> None:
    slots = dict.fromkeys(("procure", "process", "egress"), 4)
    metrics = metrics_of(timelines.STRAGGLER, slots=slots)
    assert metrics["makespan_s"] == 15
    assert metrics["early_start_fraction"] == {"process": 0.75, "egress": 0.75}
    assert metrics["lag_s"]["process"] == pytest.approx({"p50": 0.5, "p90": 1.55, "max": 2.0})
    assert metrics["lag_s"]["egress"] == {"p50": 1.0, "p90": 1.0, "max": 1.0}
    assert metrics["peak_running"] == {"procure": 4, "process": 3, "egress": 3}
    # With a free slot for every child, each lag is its dispatch latency: process 0.5 x 3
    # and 2, egress 1 x 4, the first start of each step its warm-up. Under a barrier on 4
    # slots procure ends at 10, process at 10 + 2 + 1 = 13 (its slowest latency + run),
    # egress at 13 + 1 + 1 = 15, whichever child draws which latency.
    assert metrics["model"]["warmup_s"] == {"procure": 0.0, "process": 0.5, "egress": 1.0}
    assert metrics["model"]["latency_s"]["process"] == pytest.approx({"p50": 0.5, "p90": 1.7})
    assert metrics["model"]["latency_s"]["egress"] == {"p50": 1.0, "p90": 1.0}
    assert metrics["barrier_makespan_s"] == 15


def test_failed_children_are_counted_but_not_in_run_time_statistics() -> None:
    metrics = metrics_of(timelines.WITH_FAILURE, failed={("process", 1)})
    assert metrics["children"]["process"] == {"total": 3, "succeeded": 2, "failed": 1}
    assert metrics["children"]["egress"] == {"total": 3, "succeeded": 2, "failed": 1}
    assert metrics["run_s"]["process"] == pytest.approx({"p50": 3.0, "p90": 3.8})
    assert metrics["queue_s"]["process"] == {"p50": 1.0, "p90": 1.0}
    assert metrics["lag_s"]["process"]["max"] == 0.0
    assert metrics["records"] == 20.0
    assert metrics["records_per_s"] == pytest.approx(20 / 101)


def test_lag_per_index_is_missing_for_failed_children() -> None:
    lags = lag(timelines.build(timelines.WITH_FAILURE, failed={("process", 1)}))
    assert list(lags.columns) == ["step", "array_index", "lag_s"]
    process = lags[lags["step"] == "process"].set_index("array_index")["lag_s"]
    assert process[0] == 0.0 and process[2] == 0.0 and process.isna()[1]


def test_running_curve_is_a_step_function_per_step() -> None:
    curve = running_curve(timelines.build(timelines.BARRIER))
    assert list(curve.columns) == ["time", "step", "running", "elapsed_s"]
    procure = curve[curve["step"] == "procure"]
    assert list(zip(procure["elapsed_s"], procure["running"], strict=True)) == [
        (0, 2),
        (2, 2),
        (4, 1),
        (5, 0),
    ]
    assert str(curve["time"].dt.tz) == "UTC"


def test_cost_bills_every_child_that_ran_with_a_minimum_and_counts_vcpu_seconds() -> None:
    built = timelines.build(
        timelines.WITH_FAILURE,
        failed={("process", 1)},
        attrs={"resources": {"process": {"vcpus": 2.0, "memory_mib": 0}}},
    )
    per_second = estimated_cost(built, prices={**ONE_USD_PER_VCPU_SECOND, "minimum_billed_s": 0})
    # Run seconds: procure 1 + 1 + 1, process 2 + 51 + 4 on 2 vCPUs, egress 1 + 1.
    assert per_second["total_usd"] == pytest.approx(3 + 2 * 57 + 2)
    assert per_second["vcpu_s"] == pytest.approx(3 + 2 * 57 + 2)
    with_minimum = estimated_cost(built, prices=ONE_USD_PER_VCPU_SECOND)
    # Eight children ran, each billed 60 s: five on one vCPU, three (process) on two.
    assert with_minimum["total_usd"] == pytest.approx(60 * (3 + 2 * 3 + 2))
    assert with_minimum["vcpu_s"] == per_second["vcpu_s"]
    assert with_minimum["prices"]["minimum_billed_s"] == 60


def test_fargate_bill_matches_the_per_second_prices_aws_quotes() -> None:
    # AWS's ECS pricing example: $0.000011244 per vCPU-second, $0.0000012347 per GB-second.
    # One 1-vCPU, 2 GiB child of 90 s bills 90 s; two of 1 s bill the 60 s minimum each.
    # (AWS rounds its per-second prices, hence the relative tolerance.)
    built = timelines.build({"procure": [(0, 90)], "process": [(90, 91)], "egress": [(91, 92)]})
    per_second = 0.000011244 + 2 * 0.0000012347
    assert estimated_cost(built)["total_usd"] == pytest.approx(210 * per_second, rel=1e-4)
    assert estimated_cost(built)["vcpu_s"] == 92


def test_cost_resources_come_from_the_argument_then_the_timeline_then_the_default() -> None:
    built = timelines.build(
        timelines.ONE_NODE, attrs={"resources": {"procure": {"vcpus": 2.0, "memory_mib": 4096}}}
    )
    cost = estimated_cost(built, resources={"egress": {"vcpus": 0.25, "memory_mib": 512}})
    assert cost["resources"] == {
        "procure": {"vcpus": 2.0, "memory_mib": 4096.0, "source": "timeline"},
        "process": {"vcpus": 1.0, "memory_mib": 2048.0, "source": "default"},
        "egress": {"vcpus": 0.25, "memory_mib": 512.0, "source": "argument"},
    }
    # vCPU-seconds: procure 2 s x 2, process 2 s x 1, egress 0.5 s x 0.25.
    assert cost["by_step_vcpu_s"] == pytest.approx({"procure": 4, "process": 2, "egress": 0.125})


def test_default_prices_are_recorded_in_the_metrics() -> None:
    metrics = metrics_of(timelines.N_TO_N)
    assert metrics["cost"]["prices"] == FARGATE_PRICES
    assert metrics["estimated_compute_cost_usd"] == metrics["cost"]["total_usd"] > 0
    assert metrics["vcpu_s"] == 4 + 2 + 3 + 1 + 2 + 2 + 3 + 1 + 1


def test_one_node_run() -> None:
    metrics = metrics_of(timelines.ONE_NODE)
    assert metrics["makespan_s"] == 6
    assert metrics["early_start_fraction"] == {"process": 0.0, "egress": 0.0}
    assert metrics["lag_s"]["egress"] == {"p50": 0.5, "p90": 0.5, "max": 0.5}
    assert metrics["peak_running"] == {"procure": 1, "process": 1, "egress": 1}
    # Latencies 0, 1 (3 - 2) and 0.5 (5.5 - 5): the model chains 2 + 1 + 2 + 0.5 + 0.5.
    assert metrics["barrier_makespan_s"] == 6
    assert metrics["n2n_gain"] == 0.0
    assert metrics["children"]["egress"] == {"total": 1, "succeeded": 1, "failed": 0}


def test_steps_that_never_started_do_not_break_the_metrics() -> None:
    metrics = metrics_of(timelines.NEVER_STARTED, failed={("procure", 0), ("procure", 1)})
    assert metrics["makespan_s"] == 1
    assert metrics["early_start_fraction"] == {"process": None, "egress": None}
    assert metrics["lag_s"]["process"] == {"p50": None, "p90": None, "max": None}
    assert metrics["peak_running"] == {"procure": 2, "process": 0, "egress": 0}
    assert metrics["barrier_makespan_s"] == 1
    assert metrics["records_per_s"] is None


def test_execution_attributes_are_carried_when_present() -> None:
    attrs = {"execution_name": "run-1", "input": {"id_count": 3, "dependency": "N_TO_N"}}
    metrics = compute_metrics(timelines.build(timelines.ONE_NODE, attrs=attrs))
    assert metrics["execution"] == attrs
    assert peak_running(timelines.build(timelines.ONE_NODE))["egress"] == 1


def test_finished_curve_counts_stops_per_step() -> None:
    curve = finished_curve(timelines.build(timelines.N_TO_N))
    assert list(curve.columns) == ["elapsed_s", "step", "finished"]
    egress = curve[curve["step"] == "egress"]
    # Egress stops at 8, 5 and 8: one child by 5, all three by 8.
    assert list(zip(egress["elapsed_s"], egress["finished"], strict=True)) == [
        (0, 0),
        (5, 1),
        (8, 3),
    ]


def test_mean_running_is_the_time_weighted_mean_per_slice() -> None:
    built = timelines.build(
        {"procure": [(0.0, 1.0), (0.0, 2.0)], "process": [(1.0, 2.0), (2.0, 4.0)]}
    )
    means = mean_running(built, bins=4)
    procure = means[means.step == "procure"]["running"].tolist()
    process = means[means.step == "process"]["running"].tolist()
    assert procure == pytest.approx([2.0, 1.0, 0.0, 0.0])
    assert process == pytest.approx([0.0, 1.0, 1.0, 1.0])
