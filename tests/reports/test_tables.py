"""The notebook tables: the N_TO_N vs BARRIER comparison of ``05_compare``."""

from __future__ import annotations

import math

from pipeline.reports.tables import compare_table, resource_name, timeline_preview
from tests.analysis import timelines


def _metrics(dependency: str, makespan: float, modelled: dict, gain: float) -> dict:
    return {
        "makespan_s": makespan,
        "barrier_makespan_s": modelled["BARRIER"],
        "n2n_gain": gain,
        "model": {
            "dependency": dependency,
            "makespan_s": modelled,
            "error": modelled[dependency] / makespan - 1,
        },
    }


def test_compare_table_shows_the_modelled_and_the_measured_gain_at_one_precision():
    table = compare_table(
        {
            ("N_TO_N", 1.0): _metrics(
                "N_TO_N", 10.123456, {"N_TO_N": 10.5, "BARRIER": 20.0}, 0.475
            ),
            ("BARRIER", 1.0): _metrics("BARRIER", 19.0, {"N_TO_N": 9.0, "BARRIER": 19.95}, 0.5488),
        }
    )
    assert list(table.columns) == [
        "makespan_s",
        "model_makespan_s",
        "model_error",
        "barrier_makespan_s",
        "n2n_gain",
        "measured_gain",
    ]
    fade, barrier = table.loc[("N_TO_N", 1.0)], table.loc[("BARRIER", 1.0)]
    # 10.5 / 10.123456 - 1 = 0.0372; 1 - 10.123456 / 19 = 0.4672
    assert fade.to_dict() == {
        "makespan_s": 10.12,
        "model_makespan_s": 10.5,
        "model_error": 0.037,
        "barrier_makespan_s": 20.0,
        "n2n_gain": 0.475,
        "measured_gain": 0.467,
    }
    assert barrier["model_error"] == 0.05 and barrier["n2n_gain"] == 0.549
    assert math.isnan(barrier["measured_gain"])


def test_arns_show_the_name_they_end_with():
    queue = "arn:aws:batch:us-east-1:123456789012:job-queue/n2n-procure"
    definition = "arn:aws:batch:us-east-1:123456789012:job-definition/n2n-process:3"
    function = "arn:aws:lambda:us-east-1:123456789012:function:n2n-prepare"
    assert resource_name(queue) == "n2n-procure"
    assert resource_name(definition) == "n2n-process:3"
    assert resource_name(function) == "n2n-prepare"
    assert resource_name("n2n-egress-bucket") == "n2n-egress-bucket"


def test_timeline_preview_has_the_columns_a_reader_scans_without_job_ids():
    built = timelines.build({"procure": [(0.5, 1.25)], "process": [(2, 3)]})
    preview = timeline_preview(built)
    assert list(preview.columns) == [
        "step",
        "array_index",
        "status",
        "attempts",
        "started_at",
        "queue_s",
        "run_s",
    ]
    # T0 is 12:00:00 UTC; procure started half a second later and ran 0.75 s.
    assert preview.iloc[0].to_dict() == {
        "step": "procure",
        "array_index": 0,
        "status": "SUCCEEDED",
        "attempts": 1,
        "started_at": "12:00:00.500",
        "queue_s": 0.5,
        "run_s": 0.75,
    }
