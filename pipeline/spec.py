"""The execution input: parsing, defaults and validation.

Execution input (the state machine input)::

    {"id_count": int, "ids_per_node": int, "work": {...}, "dependency": "N_TO_N" | "BARRIER",
     "rerun_of": {"workflow_id": str, "indices": [int, ...]}}   # rerun_of optional

Array size = ceil(id_count / ids_per_node), which must be 1..10,000. A rerun runs only the
listed indices of workflow ``rerun_of.workflow_id`` (same ids, same work): its jobs have
``len(indices)`` children. At most 10,000 indices of at most four digits keep the input
under 50 KiB, far below Step Functions' 256 KiB, so the list always travels inline.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pipeline.errors import InvalidRunInput

MAX_ARRAY_SIZE = 10_000
DEPENDENCIES = ("N_TO_N", "BARRIER")
RUN_KEYS = ("id_count", "ids_per_node", "work", "dependency", "rerun_of")
WORKFLOW_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


@dataclass(frozen=True)
class Knob:
    """One work knob: its default and inclusive range."""

    default: float
    low: float
    high: float
    integral: bool = False


WORK_KNOBS: dict[str, Knob] = {
    "values_per_id": Knob(16, 1, 100_000, integral=True),
    "compute_ms_per_id": Knob(0.0, 0.0, 60_000.0),
    "io_ms_per_id": Knob(0.0, 0.0, 60_000.0),
    "skew": Knob(0.0, 0.0, 5.0),
    "fail_probability": Knob(0.0, 0.0, 1.0),
}


@dataclass(frozen=True)
class Work:
    """Work knobs that let a user study overlap under skew and failures.

    ``compute_ms_per_id`` burns CPU; ``io_ms_per_id`` sleeps (work that waits on I/O), so
    children on a small machine run side by side without slowing each other, as
    independent Fargate tasks do. ``skew`` scales both per index.
    """

    values_per_id: int = 16
    compute_ms_per_id: float = 0.0
    io_ms_per_id: float = 0.0
    skew: float = 0.0
    fail_probability: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The knobs as a JSON-ready dict (the worker's ``N2N_WORK``)."""
        return asdict(self)


@dataclass(frozen=True)
class RerunOf:
    """The workflow a rerun completes and the indices of it that it runs, in job order."""

    workflow_id: str
    indices: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``rerun_of`` input key."""
        return {"workflow_id": self.workflow_id, "indices": list(self.indices)}


@dataclass(frozen=True)
class RunSpec:
    """A validated execution input."""

    id_count: int
    ids_per_node: int
    work: Work = field(default_factory=Work)
    dependency: str = "N_TO_N"
    rerun_of: RerunOf | None = None

    @property
    def array_size(self) -> int:
        """How many array nodes the id range has."""
        return math.ceil(self.id_count / self.ids_per_node)

    @property
    def job_size(self) -> int:
        """How many children each step's job has: every node, or the indices rerun."""
        return len(self.rerun_of.indices) if self.rerun_of else self.array_size

    def node_ids(self, index: int) -> range:
        """The contiguous ids of array node ``index``."""
        start = index * self.ids_per_node
        return range(start, min(start + self.ids_per_node, self.id_count))

    def to_input(self) -> dict[str, Any]:
        """The execution input this spec was parsed from, with defaults filled in."""
        document = {
            "id_count": self.id_count,
            "ids_per_node": self.ids_per_node,
            "work": self.work.to_dict(),
            "dependency": self.dependency,
        }
        if self.rerun_of:
            document["rerun_of"] = self.rerun_of.to_dict()
        return document


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRunInput(f"{name} must be a whole number, not {value!r}.")
    if isinstance(value, float) and not value.is_integer():
        raise InvalidRunInput(f"{name} must be a whole number, not {value!r}.")
    return int(value)


def _knob(name: str, knob: Knob, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidRunInput(f"work.{name} must be a number, not {value!r}.")
    if knob.integral:
        value = _integer(f"work.{name}", value)
    if not knob.low <= value <= knob.high:
        raise InvalidRunInput(
            f"work.{name} must be between {knob.low:g} and {knob.high:g}, not {value!r}."
        )
    return value


def parse_work(raw: Any) -> Work:
    """Validate the ``work`` knobs, filling defaults."""
    if raw is None:
        return Work()
    if not isinstance(raw, dict):
        raise InvalidRunInput(f"work must be an object of knobs, not {raw!r}.")
    unknown = sorted(set(raw) - set(WORK_KNOBS))
    if unknown:
        raise InvalidRunInput(
            f"Unknown work knob(s) {', '.join(unknown)}: use only {', '.join(WORK_KNOBS)}."
        )
    return Work(**{name: _knob(name, WORK_KNOBS[name], raw[name]) for name in raw})


def parse_rerun_of(raw: Any, array_size: int) -> RerunOf:
    """Validate ``rerun_of``: a workflow id and distinct indices of its ``array_size`` nodes."""
    if not isinstance(raw, dict) or set(raw) != {"workflow_id", "indices"}:
        raise InvalidRunInput(
            f"rerun_of must be an object with workflow_id and indices, not {raw!r}."
        )
    workflow_id, indices = raw["workflow_id"], raw["indices"]
    if not isinstance(workflow_id, str) or not WORKFLOW_ID.match(workflow_id):
        raise InvalidRunInput(f"rerun_of.workflow_id is not a workflow id: {workflow_id!r}.")
    if not isinstance(indices, list) or not indices:
        raise InvalidRunInput("rerun_of.indices must be a non-empty list of array indices.")
    parsed = tuple(_integer("rerun_of.indices[]", index) for index in indices)
    outside = [index for index in parsed if not 0 <= index < array_size]
    if outside:
        raise InvalidRunInput(
            f"rerun_of.indices must lie in 0..{array_size - 1}, not {outside[0]}."
        )
    if len(set(parsed)) != len(parsed):
        raise InvalidRunInput("rerun_of.indices must not repeat an index.")
    return RerunOf(workflow_id, parsed)


def parse_run_input(raw: Any, defaults: dict[str, Any] | None = None) -> RunSpec:
    """Parse and validate an execution input; ``defaults`` fill keys the input omits.

    Raises :class:`InvalidRunInput` with one sentence saying what to change.
    """
    if not isinstance(raw, dict):
        raise InvalidRunInput(f"The execution input must be a JSON object, not {raw!r}.")
    unknown = sorted(set(raw) - set(RUN_KEYS))
    if unknown:
        raise InvalidRunInput(
            f"Unknown input key(s) {', '.join(unknown)}: use only {', '.join(RUN_KEYS)}."
        )
    merged = {**(defaults or {}), **raw}
    if "id_count" not in merged:
        raise InvalidRunInput("id_count is missing: give the number of ids to process.")
    id_count = _integer("id_count", merged["id_count"])
    if id_count <= 0:
        raise InvalidRunInput(f"id_count must be at least 1, not {id_count}.")
    ids_per_node = _integer("ids_per_node", merged.get("ids_per_node", 1))
    if ids_per_node <= 0:
        raise InvalidRunInput(f"ids_per_node must be at least 1, not {ids_per_node}.")
    dependency = merged.get("dependency", "N_TO_N")
    if dependency not in DEPENDENCIES:
        raise InvalidRunInput(
            f"dependency must be one of {', '.join(DEPENDENCIES)}, not {dependency!r}."
        )
    spec = RunSpec(id_count, ids_per_node, parse_work(merged.get("work")), dependency)
    if spec.array_size > MAX_ARRAY_SIZE:
        smallest = math.ceil(id_count / MAX_ARRAY_SIZE)
        raise InvalidRunInput(
            f"{id_count} ids at {ids_per_node} per node need {spec.array_size} array nodes, "
            f"above the AWS Batch limit of {MAX_ARRAY_SIZE}: set ids_per_node to at least "
            f"{smallest}."
        )
    if merged.get("rerun_of") is not None:
        spec = replace(spec, rerun_of=parse_rerun_of(merged["rerun_of"], spec.array_size))
    return spec
