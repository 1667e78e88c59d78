"""The execution input contract: defaults, limits and one-sentence errors."""

import pytest

from pipeline.errors import InvalidRunInput
from pipeline.spec import MAX_ARRAY_SIZE, Work, parse_run_input


def test_defaults_fill_the_optional_keys():
    spec = parse_run_input({"id_count": 100, "ids_per_node": 10})
    assert spec.array_size == 10
    assert spec.work == Work()
    assert spec.dependency == "N_TO_N"
    assert spec.to_input()["work"]["values_per_id"] == 16


def test_integral_floats_are_accepted():
    spec = parse_run_input(
        {"id_count": 1000.0, "ids_per_node": 40.0, "work": {"values_per_id": 4.0}}
    )
    assert (spec.id_count, spec.ids_per_node, spec.work.values_per_id) == (1000, 40, 4)
    assert isinstance(spec.id_count, int)


def test_array_size_rounds_up_and_the_last_node_is_short():
    spec = parse_run_input({"id_count": 1001, "ids_per_node": 10})
    assert spec.array_size == 101
    assert list(spec.node_ids(100)) == [1000]


def test_defaults_from_the_environment_fill_missing_keys_only():
    spec = parse_run_input({"ids_per_node": 5}, {"id_count": 50, "ids_per_node": 1})
    assert (spec.id_count, spec.ids_per_node) == (50, 5)


def test_the_largest_array_is_accepted():
    assert parse_run_input({"id_count": MAX_ARRAY_SIZE, "ids_per_node": 1}).array_size == 10_000


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "id_count is missing"),
        ({"id_count": "100"}, "id_count must be a whole number, not '100'"),
        ({"id_count": True}, "id_count must be a whole number, not True"),
        ({"id_count": 10.5}, "id_count must be a whole number, not 10.5"),
        ({"id_count": None}, "id_count must be a whole number, not None"),
        ({"id_count": 0}, "id_count must be at least 1, not 0"),
        ({"id_count": -5}, "id_count must be at least 1, not -5"),
        ({"id_count": 10, "ids_per_node": 0}, "ids_per_node must be at least 1, not 0"),
        ({"id_count": 10, "ids_per_node": "2"}, "ids_per_node must be a whole number"),
        (
            {"id_count": 10_001, "ids_per_node": 1},
            "need 10001 array nodes, above the AWS Batch limit of 10000: "
            "set ids_per_node to at least 2",
        ),
        (
            {"id_count": 400_001, "ids_per_node": 40},
            "set ids_per_node to at least 41",
        ),
        ({"id_count": 10, "colour": "red"}, "Unknown input key(s) colour: use only id_count"),
        ({"id_count": 10, "dependency": "SEQUENTIAL"}, "dependency must be one of N_TO_N, BARRIER"),
        ({"id_count": 10, "work": []}, "work must be an object of knobs"),
        ({"id_count": 10, "work": {"speed": 1}}, "Unknown work knob(s) speed"),
        ({"id_count": 10, "work": {"values_per_id": 0}}, "work.values_per_id must be between 1"),
        ({"id_count": 10, "work": {"values_per_id": 2.5}}, "work.values_per_id must be a whole"),
        ({"id_count": 10, "work": {"compute_ms_per_id": -1}}, "work.compute_ms_per_id must be"),
        ({"id_count": 10, "work": {"io_ms_per_id": -0.5}}, "work.io_ms_per_id must be between 0"),
        ({"id_count": 10, "work": {"io_ms_per_id": "slow"}}, "work.io_ms_per_id must be a number"),
        ({"id_count": 10, "work": {"skew": "high"}}, "work.skew must be a number"),
        ({"id_count": 10, "work": {"skew": 6}}, "work.skew must be between 0 and 5"),
        ({"id_count": 10, "work": {"fail_probability": 1.5}}, "work.fail_probability must be"),
        ({"id_count": 10, "work": {"fail_probability": True}}, "work.fail_probability must be"),
        ([1, 2], "The execution input must be a JSON object"),
    ],
)
def test_bad_input_is_rejected_with_one_sentence(raw, message):
    with pytest.raises(InvalidRunInput) as error:
        parse_run_input(raw)
    text = str(error.value)
    assert message in text
    assert text.endswith(".")
    assert "\n" not in text
