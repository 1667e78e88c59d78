"""The prepare Lambda: node trees on a temporary EFS folder."""

import json

import pytest

from pipeline.errors import InvalidRunInput
from pipeline.handlers import prepare as prepare_module
from pipeline.handlers.prepare import handler, prepare


def _all_ids(efs, result):
    ids = []
    for index in range(result["array_size"]):
        ids.extend(
            json.loads((efs / result["workflow_id"] / str(index) / "prep/ids.json").read_text())
        )
    return ids


def test_one_id_is_a_one_node_run(tmp_path):
    result = prepare({"input": {"id_count": 1, "ids_per_node": 10}}, {"EFS_MOUNT": str(tmp_path)})
    assert result["array_size"] == 1
    assert result["is_array"] is False
    assert _all_ids(tmp_path, result) == [0]


def test_ids_cover_the_range_once_and_the_last_node_is_short(tmp_path):
    result = prepare(
        {"input": {"id_count": 1001, "ids_per_node": 10}}, {"EFS_MOUNT": str(tmp_path)}
    )
    assert result["array_size"] == 101
    assert result["is_array"] is True
    assert _all_ids(tmp_path, result) == list(range(1001))
    last = json.loads((tmp_path / result["workflow_id"] / "100/prep/ids.json").read_text())
    assert last == [1000]
    assert set(result) == {
        "workflow_id",
        "array_size",
        "is_array",
        "id_count",
        "ids_per_node",
        "work",
        "dependency",
        "rerun_of",
    }
    assert len(json.dumps(result)) < 1024


def test_the_same_execution_name_rebuilds_the_same_tree(tmp_path):
    event = {"execution_name": "run-42", "input": {"id_count": 30, "ids_per_node": 10}}
    first = prepare(event, {"EFS_MOUNT": str(tmp_path)})
    second = prepare(event, {"EFS_MOUNT": str(tmp_path)})
    assert first == second
    assert first["workflow_id"] == "run-42"
    assert [p.name for p in tmp_path.iterdir()] == ["run-42"]
    assert sorted(p.name for p in (tmp_path / "run-42").iterdir()) == ["0", "1", "2"]


def test_without_an_execution_name_each_run_gets_a_new_workflow(tmp_path):
    event = {"input": {"id_count": 3, "ids_per_node": 1}}
    first = prepare(event, {"EFS_MOUNT": str(tmp_path)})
    second = prepare(event, {"EFS_MOUNT": str(tmp_path)})
    assert first["workflow_id"] != second["workflow_id"]


def test_environment_defaults_apply_to_an_empty_input(tmp_path, monkeypatch):
    monkeypatch.setenv("EFS_MOUNT", str(tmp_path))
    monkeypatch.setenv("DEFAULT_ID_COUNT", "25")
    monkeypatch.setenv("DEFAULT_IDS_PER_NODE", "5")
    result = handler({"execution_name": "scheduled", "input": {}}, None)
    assert (result["id_count"], result["array_size"]) == (25, 5)


def test_an_event_without_input_is_the_input(tmp_path):
    result = prepare({"id_count": 4, "ids_per_node": 2}, {"EFS_MOUNT": str(tmp_path)})
    assert result["array_size"] == 2
    named = prepare({"execution_name": "flat", "id_count": 4}, {"EFS_MOUNT": str(tmp_path)})
    assert (named["workflow_id"], named["array_size"]) == ("flat", 4)


@pytest.mark.parametrize(
    "bad",
    [
        {"id_count": 0},
        {"id_count": "7", "ids_per_node": 1},
        {"id_count": 10, "ids_per_node": -1},
        {"id_count": 20_000, "ids_per_node": 1},
        {"id_count": 10, "extra": 1},
        {"id_count": 10, "dependency": "ALL"},
        {"id_count": 10, "work": {"fail_probability": 2}},
    ],
)
def test_bad_input_writes_nothing(tmp_path, bad):
    with pytest.raises(InvalidRunInput):
        prepare({"execution_name": "bad", "input": bad}, {"EFS_MOUNT": str(tmp_path)})
    assert list(tmp_path.iterdir()) == []


def test_unsafe_execution_names_map_to_a_stable_uuid():
    name = "weird name/with:chars"
    assert prepare_module.workflow_id_for(name) == prepare_module.workflow_id_for(name)
    assert "/" not in prepare_module.workflow_id_for(name)
