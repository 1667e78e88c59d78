"""The list-scheduling model against hand-computed schedules."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.analysis.model import predict, run_times, simulate
from pipeline.analysis.synthetic import synthetic_timeline
from tests.analysis import timelines

RUN_S = {"a": [3, 1, 2, 4, 1], "b": [1, 2, 1, 1, 2]}
TWO_SLOTS = {"a": 2, "b": 2}


def test_n_to_n_on_two_slots_matches_the_hand_schedule() -> None:
    schedule = simulate(RUN_S, TWO_SLOTS, "N_TO_N")
    assert schedule.start_s["a"].tolist() == [0, 0, 1, 3, 3]
    assert schedule.stop_s["a"].tolist() == [3, 1, 3, 7, 4]
    # b4 is ready at 4 and starts before b3, which waits for a3 until 7.
    assert schedule.start_s["b"].tolist() == [3, 1, 3, 7, 4]
    assert schedule.stop_s["b"].tolist() == [4, 3, 4, 8, 6]
    assert schedule.makespan_s == 8


def test_barrier_on_two_slots_matches_the_hand_schedule() -> None:
    schedule = simulate(RUN_S, TWO_SLOTS, "BARRIER")
    assert schedule.stop_s["a"].tolist() == [3, 1, 3, 7, 4]
    assert schedule.start_s["b"].tolist() == [7, 7, 8, 9, 9]
    assert schedule.stop_s["b"].tolist() == [8, 9, 9, 10, 11]
    assert schedule.makespan_s == 11


@pytest.mark.parametrize("slots", [1, 50], ids=["one slot", "unlimited slots"])
def test_n_to_n_never_loses_to_barrier_with_one_or_unlimited_slots(slots: int) -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        size, steps = int(rng.integers(1, 30)), int(rng.integers(1, 4))
        run_s = {f"s{k}": rng.lognormal(0, 1, size) for k in range(steps)}
        per_step = dict.fromkeys(run_s, slots)
        fade = simulate(run_s, per_step, "N_TO_N").makespan_s
        assert fade <= simulate(run_s, per_step, "BARRIER").makespan_s + 1e-9


def test_list_scheduling_anomaly_n_to_n_can_lose_with_a_few_slots() -> None:
    # b0 and b2 are ready at 0 and take both slots; the long b1, ready at 1, waits until 2.
    # Under a barrier all are ready at 1 and b1 starts at once.
    run_s = {"a": [0, 1, 0], "b": [2, 4, 2]}
    slots = {"a": 3, "b": 2}
    assert simulate(run_s, slots, "N_TO_N").makespan_s == 6
    assert simulate(run_s, slots, "BARRIER").makespan_s == 5


def test_uneven_steps_pad_with_zero_length_children_and_empty_runs_take_no_time() -> None:
    schedule = simulate({"a": [1, 1], "b": [2]}, {"a": 1, "b": 1}, "N_TO_N")
    assert schedule.start_s["b"].tolist() == [1, 3]
    assert schedule.stop_s["b"].tolist() == [3, 3]
    assert simulate({}, {}, "BARRIER").makespan_s == 0.0


def test_to_frame_lists_every_child() -> None:
    frame = simulate(RUN_S, TWO_SLOTS, "N_TO_N").to_frame()
    assert list(frame.columns) == ["step", "step_order", "array_index", "start_s", "stop_s"]
    assert frame.groupby("step")["step_order"].first().to_dict() == {"a": 1, "b": 2}
    assert frame["stop_s"].max() == 8


@pytest.mark.parametrize(
    ("slots", "dependency", "message"),
    [({"a": 2, "b": 2}, "ALL_AT_ONCE", "N_TO_N, BARRIER"), ({"a": 2, "b": 0}, "N_TO_N", "a, b")],
)
def test_bad_arguments_say_what_to_change(slots, dependency, message) -> None:
    with pytest.raises(ValueError, match=message):
        simulate(RUN_S, slots, dependency)


def test_predict_replays_a_timeline_under_either_dependency() -> None:
    measured = timelines.build(timelines.N_TO_N)
    slots = dict.fromkeys(("procure", "process", "egress"), 2)
    fade = predict(measured, slots, "N_TO_N")
    assert fade.makespan_s == 8
    assert fade.start_s["egress"].tolist() == [5, 4, 7]
    assert predict(measured, slots, "BARRIER").makespan_s == 11


def test_run_times_count_failed_children_and_zero_for_those_that_never_ran() -> None:
    times = run_times(timelines.build(timelines.WITH_FAILURE, failed={("process", 1)}))
    assert list(times) == ["procure", "process", "egress"]
    assert times["process"].tolist() == [2, 51, 4]
    assert times["egress"].tolist() == [1, 0, 1]


def test_synthetic_timelines_replay_exactly_under_the_model() -> None:
    for dependency in ("N_TO_N", "BARRIER"):
        timeline = synthetic_timeline(300, dependency=dependency, slots=12, seed=4)
        measured = (timeline["stopped_at"].max() - timeline["created_at"].min()).total_seconds()
        slots = dict.fromkeys(("procure", "process", "egress"), 12)
        assert predict(timeline, slots, dependency).makespan_s == pytest.approx(measured)


def test_ten_thousand_wide_chain_simulates() -> None:
    run_s = {step: np.random.default_rng(1).lognormal(3, 0.5, 10_000) for step in "abc"}
    schedule = simulate(run_s, dict.fromkeys(run_s, 256), "N_TO_N")
    assert all(np.isfinite(stop).all() for stop in schedule.stop_s.values())
