"""The calibrated model against schedules drawn by hand, and its calibration against a
hand-built timeline with known latencies. Every expected number below was worked out on
paper from the drawing in the comment above it."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.analysis.model import (
    AT_MEASURED_SLOTS,
    MEASURED,
    CapacityError,
    calibrate,
    model_error,
    parse_vcpus,
    peak_running,
    replay,
    slots_for,
    what_if,
)
from pipeline.cli.main import main
from tests.analysis import timelines

RUN_S = {"a": [3, 1, 2, 4, 1], "b": [1, 2, 1, 1, 2]}
TWO_SLOTS = {"a": 2, "b": 2}
ONE_USD_PER_VCPU_SECOND = {"usd_per_vcpu_hour": 3600.0, "usd_per_gb_hour": 0.0}


def test_n_to_n_on_two_slots_matches_the_hand_schedule() -> None:
    schedule = replay(RUN_S, TWO_SLOTS, "N_TO_N")
    assert schedule.start_s["a"].tolist() == [0, 0, 1, 3, 3]
    assert schedule.stop_s["a"].tolist() == [3, 1, 3, 7, 4]
    # b4 is ready at 4 and starts before b3, which waits for a3 until 7.
    assert schedule.start_s["b"].tolist() == [3, 1, 3, 7, 4]
    assert schedule.stop_s["b"].tolist() == [4, 3, 4, 8, 6]
    assert schedule.makespan_s == 8


def test_barrier_on_two_slots_matches_the_hand_schedule() -> None:
    schedule = replay(RUN_S, TWO_SLOTS, "BARRIER")
    assert schedule.stop_s["a"].tolist() == [3, 1, 3, 7, 4]
    assert schedule.start_s["b"].tolist() == [7, 7, 8, 9, 9]
    assert schedule.stop_s["b"].tolist() == [8, 9, 9, 10, 11]
    assert schedule.makespan_s == 11


# slots 1/1, first start at 1, latency a = 0.5 each, b0 = 1, b1 = 0:
#   a0 dispatched 1.0, runs 1.5-3.5 | a1 dispatched 3.5 (a's slot), runs 4.0-5.0
#   N_TO_N:  b0 ready 3.5, runs 4.5-5.5 | b1 ready 5.0, slot free 5.5, runs 5.5-6.5
#   BARRIER: b0 ready 5.0, runs 6.0-7.0 | b1 dispatched 7.0, runs 7.0-8.0
LATE = {"a": [0.5, 0.5], "b": [1.0, 0.0]}


@pytest.mark.parametrize(
    ("dependency", "b_start", "b_stop"),
    [("N_TO_N", [4.5, 5.5], [5.5, 6.5]), ("BARRIER", [6.0, 7.0], [7.0, 8.0])],
)
def test_dispatch_latency_and_first_start_delay_the_hand_schedule(
    dependency, b_start, b_stop
) -> None:
    schedule = replay(
        {"a": [2, 1], "b": [1, 1]},
        {"a": 1, "b": 1},
        dependency,
        latency_s=LATE,
        first_start_s=1.0,
    )
    assert schedule.start_s["a"].tolist() == [1.5, 4.0]
    assert schedule.stop_s["a"].tolist() == [3.5, 5.0]
    assert schedule.start_s["b"].tolist() == b_start
    assert schedule.stop_s["b"].tolist() == b_stop


def test_a_step_created_late_starts_no_child_before_its_creation() -> None:
    # As above under N_TO_N, but b is created at 6: b0 runs 7-8, b1 waits for the slot: 8-9.
    schedule = replay(
        {"a": [2, 1], "b": [1, 1]},
        {"a": 1, "b": 1},
        latency_s=LATE,
        created_s={"b": 6.0},
        first_start_s=1.0,
    )
    assert schedule.start_s["b"].tolist() == [7.0, 8.0]
    assert schedule.makespan_s == 9.0


def test_one_dispatcher_spaces_the_dispatches_of_every_step() -> None:
    # Three 1 s children per step on 3 slots, a dispatch every 0.5 s: a dispatched 0, 0.5,
    # 1.0 (stops 1, 1.5, 2); b0 ready at 1 but the dispatcher is next free at 1.5: b runs
    # from 1.5, 2.0, 2.5 and stops at 3.5. Without the gap every child starts at once: 2.
    run_s = {"a": [1, 1, 1], "b": [1, 1, 1]}
    schedule = replay(run_s, {"a": 3, "b": 3}, dispatch_gap_s=0.5)
    assert schedule.start_s["a"].tolist() == [0, 0.5, 1.0]
    assert schedule.start_s["b"].tolist() == [1.5, 2.0, 2.5]
    assert schedule.makespan_s == 3.5
    assert replay(run_s, {"a": 3, "b": 3}).makespan_s == 2


def test_the_dispatch_rate_measured_in_a_backlog_bounds_the_run_at_any_slots() -> None:
    # Four 2 s children, all startable at 0 on 4 slots, started one a second: a backlog
    # with spacing 1, so the gap is 1 and no latency is left. At 2 slots a2 and a3 find a
    # slot (at 2 and 3) just as the dispatcher reaches them: still 5 s; at 1 slot the slot
    # binds: 0-2, 2-4, 4-6, 6-8.
    measured = timelines.build({"a": [(0, 2), (1, 3), (2, 4), (3, 5)]})
    calibration = calibrate(measured, slots={"a": 4})
    assert calibration.dispatch_gap_s == 1.0
    assert calibration.drawn_latency_s()["a"].tolist() == [0.0] * 4
    assert calibration.predict().makespan_s == 5
    assert calibration.predict(slots={"a": 2}).makespan_s == 5
    assert calibration.predict(slots={"a": 8}).makespan_s == 5
    assert calibration.predict(slots={"a": 1}).makespan_s == 8


def test_a_child_startable_when_the_child_before_it_stopped_is_no_backlog() -> None:
    # One slot, four children too short for the clock (start = stop: 0, 1, 2, 3). Each was
    # startable when the one before stopped, which is also when that one started: the slot
    # held it, so there is no backlog and no gap; each waited 1 in the handoff (latency 1,
    # the first start is the warm-up, 0). At 2 slots: a0 0-0; a1 dispatched 0, starts 1; a2
    # takes a0's slot at 0, starts 1; a3 takes a freed slot at 1, starts 2: makespan 2. A
    # gap of 1 (each spacing taken for a backlog) would keep it at 3 on any slots.
    measured = timelines.build({"a": [(0, 0), (1, 1), (2, 2), (3, 3)]})
    calibration = calibrate(measured)
    assert calibration.slots == {"a": 1}
    assert calibration.dispatch_gap_s == 0.0
    assert calibration.warmup_s == {"a": 0.0}
    assert calibration.latency_s["a"][1:].tolist() == [1.0, 1.0, 1.0]
    assert calibration.predict().makespan_s == 3
    assert calibration.predict(slots={"a": 2}).makespan_s == 2


def test_a_child_holds_its_slot_through_its_dispatch_latency() -> None:
    # One slot, latency 2, run 1: a0 dispatched 0 runs 2-3; a1 dispatched 3 runs 5-6.
    schedule = replay({"a": [1, 1]}, {"a": 1}, latency_s={"a": [2, 2]})
    assert schedule.start_s["a"].tolist() == [2, 5]
    assert schedule.makespan_s == 6


@pytest.mark.parametrize("slots", [1, 50], ids=["one slot", "unlimited slots"])
def test_n_to_n_never_loses_to_barrier_with_one_or_unlimited_slots(slots: int) -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        size, steps = int(rng.integers(1, 30)), int(rng.integers(1, 4))
        run_s = {f"s{k}": rng.lognormal(0, 1, size) for k in range(steps)}
        per_step = dict.fromkeys(run_s, slots)
        fade = replay(run_s, per_step, "N_TO_N").makespan_s
        assert fade <= replay(run_s, per_step, "BARRIER").makespan_s + 1e-9


def test_list_scheduling_anomaly_n_to_n_can_lose_with_a_few_slots() -> None:
    # b0 and b2 are ready at 0 and take both slots; the long b1, ready at 1, waits until 2.
    # Under a barrier all are ready at 1 and b1 starts at once.
    run_s = {"a": [0, 1, 0], "b": [2, 4, 2]}
    slots = {"a": 3, "b": 2}
    assert replay(run_s, slots, "N_TO_N").makespan_s == 6
    assert replay(run_s, slots, "BARRIER").makespan_s == 5


def test_uneven_steps_pad_with_zero_length_children_and_empty_runs_take_no_time() -> None:
    schedule = replay({"a": [1, 1], "b": [2]}, {"a": 1, "b": 1}, "N_TO_N")
    assert schedule.start_s["b"].tolist() == [1, 3]
    assert schedule.stop_s["b"].tolist() == [3, 3]
    assert replay({}, {}, "BARRIER").makespan_s == 0.0


def test_to_frame_lists_every_child() -> None:
    frame = replay(RUN_S, TWO_SLOTS, "N_TO_N").to_frame()
    assert list(frame.columns) == ["step", "step_order", "array_index", "start_s", "stop_s"]
    assert frame.groupby("step")["step_order"].first().to_dict() == {"a": 1, "b": 2}
    assert frame["stop_s"].max() == 8


@pytest.mark.parametrize(
    ("slots", "dependency", "message"),
    [({"a": 2, "b": 2}, "ALL_AT_ONCE", "N_TO_N, BARRIER"), ({"a": 2, "b": 0}, "N_TO_N", "a, b")],
)
def test_bad_arguments_say_what_to_change(slots, dependency, message) -> None:
    with pytest.raises(ValueError, match=message):
        replay(RUN_S, slots, dependency)


def test_calibration_measures_latency_from_dependency_slot_and_first_start() -> None:
    # The N_TO_N schedule drawn above, as a measured run (every child created at 0).
    measured = timelines.build(
        {"a": [(1.5, 3.5), (4.0, 5.0)], "b": [(4.5, 5.5), (5.5, 6.5)]},
        attrs={"input": {"dependency": "N_TO_N"}},
    )
    calibration = calibrate(measured)
    assert calibration.first_start_s == 1.5
    assert calibration.slots == {"a": 1, "b": 1}
    assert calibration.run_s["a"].tolist() == [2.0, 1.0]
    # Starts in order: a0 1.5, a1 4.0, b0 4.5, b1 5.5. a1 and b0 were both startable at 3.5
    # (a's slot free; a0 stopped); b0 was startable before a1 started, yet started 0.5
    # later: the one backlog, so the dispatch gap is 0.5. Dispatches: a0 1.5 (latency 0),
    # a1 3.5 (latency 0.5), b0 3.5 + 0.5 = 4.0 (latency 0.5), b1 at b's slot, free at 5.5
    # (latency 0). Each step's first start is its warm-up.
    assert calibration.dispatch_gap_s == 0.5
    assert calibration.warmup_s == {"a": 0.0, "b": 0.5}
    assert calibration.latency_s["a"][1] == 0.5 and np.isnan(calibration.latency_s["a"][0])
    assert calibration.latency_s["b"][1] == 0.0 and np.isnan(calibration.latency_s["b"][0])
    # Replayed as measured: 6.5. BARRIER: a1 stops at 5.0; b0 dispatched 5.0, runs 5.5-6.5;
    # b1 dispatched at 6.5 (b's slot), runs 6.5-7.5.
    assert calibration.predict().makespan_s == 6.5
    assert calibration.predict("BARRIER").makespan_s == 7.5


# A measured N_TO_N run, every child created at 0, first start at 1:
#   a: 2 slots, a0 1-3, a1 1-2 (both startable at 1: a backlog, spacing 0)
#   b: 2 slots, b1 3-5 (a1 stopped at 2: latency 1), b0 4-5 (a0 stopped at 3, when b1
#   started: a backlog, spacing 1; dispatched 3, latency 1)
# Dispatch gap: the mean backlog spacing, (0 + 1) / 2 = 0.5. Replays (a dispatch no sooner
# than 0.5 after the one before):
#   N_TO_N 2/2: a0 1-3, a1 dispatched 1.5, runs 1.5-2.5; b1 dispatched 2.5 + warm-up 1,
#     runs 3.5-5.5; b0 dispatched 3, runs 4-5: 5.5.
#   BARRIER 2/2: a ends 3; b0 dispatched 3, runs 4-5; b1 dispatched 3.5, runs 4.5-6.5: 6.5.
#   N_TO_N 1/1: a0 1-3, a1 3-4; b0 dispatched 3.5, runs 4.5-5.5; b1 ready 4, slot free
#     5.5, runs 6.5-8.5: 8.5.
#   BARRIER 1/1: a ends 4; b0 runs 5-6; b1 dispatched 6, runs 7-9: 9.
FADE = {"a": [(1, 3), (1, 2)], "b": [(4, 5), (3, 5)]}


def test_the_calibrated_model_replays_the_measured_run_and_predicts_the_others() -> None:
    calibration = calibrate(timelines.build(FADE, attrs={"input": {"dependency": "N_TO_N"}}))
    # b1 started first: its latency is b's warm-up; b0's is the one latency drawn.
    assert calibration.warmup_s["b"] == 1.0 and calibration.latency_s["b"][0] == 1.0
    assert calibration.dispatch_gap_s == 0.5
    assert calibration.predict().makespan_s == 5.5
    assert calibration.predict("BARRIER").makespan_s == 6.5
    assert calibration.predict("N_TO_N", {"a": 1, "b": 1}).makespan_s == 8.5
    assert calibration.predict("BARRIER", {"a": 1, "b": 1}).makespan_s == 9


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        # A run brought in from another pipeline: its jobs' dependsOn say BARRIER, its input
        # (someone else's) says nothing, or says otherwise.
        ({"dependency": "BARRIER", "input": {}}, "BARRIER"),
        ({"dependency": "BARRIER", "input": {"dependency": "N_TO_N"}}, "BARRIER"),
        ({"dependency": None, "input": {"dependency": "BARRIER"}}, "BARRIER"),
        ({}, "N_TO_N"),
    ],
)
def test_the_measured_dependency_is_the_one_the_jobs_had(attrs, expected) -> None:
    # FADE measured as N_TO_N replays in 5.5 s (drawn above). Measured as BARRIER, b0 and b1
    # were startable at 3 (a done); b1 started at 3 (b's warm-up 0), b0 at 4 after a backlog
    # (spacing 1; with a's 0 the gap is 0.5), dispatched 3.5, latency 0.5. Replayed: b0
    # dispatched 3, runs 3-4; b1 dispatched 3.5, runs 4-6: 6.
    calibration = calibrate(timelines.build(FADE, attrs=attrs))
    assert calibration.dependency == expected
    assert calibration.predict().makespan_s == {"BARRIER": 6, "N_TO_N": 5.5}[expected]


def test_a_replay_draws_each_measured_latency_once_per_pass() -> None:
    # b has one slot: b0 waits 0.5 after a0 (b's warm-up); b1 1 after the slot freed at
    # 2.5; b2 2 after the slot freed at 4; b3 (a3 never ran) takes the slot at 8.
    measured = timelines.build(
        {"a": [(0, 1), (0, 2), (0, 3), None], "b": [(1.5, 2.5), (3.5, 4), (6, 8), (8, 9)]},
        failed={("a", 3)},
    )
    calibration = calibrate(measured, slots={"a": 4, "b": 1})
    assert calibration.warmup_s["b"] == 0.5
    assert calibration.latency_s["b"].tolist()[1:] == [1.0, 2.0, 0.0]
    assert np.isnan(calibration.latency_s["a"][3])
    drawn = calibration.drawn_latency_s()["b"].tolist()
    # Four children, three measured latencies: each once, then the order starts over.
    assert sorted(drawn[:3]) == [0.0, 1.0, 2.0] and drawn[3] == drawn[0]
    assert calibration.drawn_latency_s()["a"].tolist() == [0.0] * 4
    assert calibration.summary()["latency_s"]["b"]["p50"] == 1.0


def test_peak_running_frees_a_slot_before_a_start_at_the_same_instant() -> None:
    assert peak_running(timelines.build(timelines.N_TO_N)) == {
        "procure": 2,
        "process": 1,
        "egress": 2,
    }


def test_slots_and_vcpus() -> None:
    assert [slots_for(v, 1) for v in (0.5, 1, 2, 16)] == [1, 1, 2, 16]
    assert slots_for(4, 0.25) == 16
    assert parse_vcpus("2,4, 8,16") == [2, 4, 8, 16]
    assert parse_vcpus("1.5") == [1.5]
    for bad in ("", "2,,4", "two", "0", "-2", "nan"):
        with pytest.raises(CapacityError, match="--vcpus"):
            parse_vcpus(bad)


def test_what_if_table_matches_the_hand_schedules() -> None:
    # timelines.N_TO_N: run times procure (4, 2, 3), process (1, 2, 2), egress (3, 1, 1),
    # no latency, measured on 2/1/2 slots in 8 s. By hand, with index-order dispatch:
    #   1/1/1: N_TO_N 12 (procure ends 9; process 9-11; egress 11-12), BARRIER 9+5+5 = 19
    #   2/2/2: N_TO_N 8, BARRIER 11 (timelines.BARRIER)
    #   4/4/4: N_TO_N 8 (egress0 5-8), BARRIER 4+2+3 = 9
    table = what_if(timelines.build(timelines.N_TO_N), [4, 1, 2], prices=ONE_USD_PER_VCPU_SECOND)
    assert table["source"].tolist()[:2] == [MEASURED, AT_MEASURED_SLOTS]
    assert table["slots"].tolist()[:2] == ["2/1/2", "2/1/2"]
    assert table["makespan_s"].tolist() == [8, 8, 12, 19, 8, 11, 8, 9]
    assert table["max_vcpus"].tolist() == [2, 2, 1, 1, 2, 2, 4, 4]
    assert model_error(table) == 0.0
    # 1 USD per vCPU-second: holding 3 one-vCPU slots for 12 s costs 36; nine children
    # each bill the 60 s minimum: 540; they used 9 + 5 + 5 = 19 vCPU-seconds.
    assert table["held_usd"].tolist()[2:4] == [36.0, 57.0]
    assert set(table["fargate_usd"]) == {540.0}
    assert set(table["vcpu_s"]) == {19.0}


def test_what_if_leaves_out_the_row_that_repeats_the_model_at_the_measured_slots() -> None:
    measured = timelines.build(timelines.BARRIER, attrs={"input": {"dependency": "BARRIER"}})
    table = what_if(measured, [2])
    assert list(zip(table["source"], table["dependency"], table["slots"], strict=True)) == [
        (MEASURED, "BARRIER", "2/2/2"),
        (AT_MEASURED_SLOTS, "BARRIER", "2/2/2"),
        ("model", "N_TO_N", "2/2/2"),
    ]
    assert table["makespan_s"].tolist() == [11, 11, 8]


def test_a_run_without_children_cannot_be_modelled() -> None:
    empty = timelines.build({"procure": []})
    with pytest.raises(CapacityError, match="pick an execution that ran"):
        what_if(empty, [2])


def test_bad_vcpus_is_one_sentence(capsys) -> None:
    assert main(["whatif", "--latest", "--vcpus", "2,x"]) == 2
    assert capsys.readouterr().err.startswith("n2n: error: --vcpus must be")
