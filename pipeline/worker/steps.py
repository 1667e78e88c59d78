"""The three pipeline steps, by name: procure → process → egress.

Each step reads its inputs from the node's EFS folder, does its work and writes
atomically, returning a :class:`StepReport` of what it did and how long each phase took.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.errors import WorkerError
from pipeline.layout import atomic_write_json
from pipeline.storage import open_store
from pipeline.worker.load import burn_cpu, seeded, skew_factor, wait_io
from pipeline.worker.settings import WorkerSettings


@dataclass(frozen=True)
class StepReport:
    """What one step did: records handled, bytes moved and seconds per phase."""

    records: int
    bytes_in: int
    bytes_out: int
    load_s: float
    compute_s: float
    write_s: float


def egress_key(workflow_id: str, index: int) -> str:
    """The egress object key of one node, relative to ``EGRESS_URL``."""
    return f"{workflow_id}/results/{index:05d}.json"


def _read(path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise WorkerError(f"{what} {path} is missing: run the step before this one.") from None


def _compute(settings: WorkerSettings, records: int) -> None:
    work = settings.work
    if work.compute_ms_per_id or work.io_ms_per_id:
        factor = skew_factor(settings.index, work.skew)
        burn_cpu(work.compute_ms_per_id * records * factor)
        wait_io(work.io_ms_per_id * records * factor)


def _summary(item_id: int, values: list[float]) -> dict:
    count = len(values)
    total = math.fsum(values)
    mean = total / count
    variance = math.fsum((v - mean) ** 2 for v in values) / count
    return {
        "id": item_id,
        "count": count,
        "sum": total,
        "mean": mean,
        "min": min(values),
        "max": max(values),
        "std": math.sqrt(variance),
    }


def procure(settings: WorkerSettings) -> StepReport:
    """Generate ``values_per_id`` seeded random floats for each of the node's ids."""
    layout, index = settings.layout, settings.index
    t0 = time.perf_counter()
    raw = _read(layout.ids_path(index), "The prepared id list")
    ids = json.loads(raw)
    t1 = time.perf_counter()
    rng = seeded(settings.workflow_id, index, "data")
    per_id = settings.work.values_per_id
    values = [[rng.random() for _ in range(per_id)] for _ in ids]
    _compute(settings, len(ids))
    t2 = time.perf_counter()
    written = atomic_write_json(layout.data_path(index), {"ids": ids, "values": values})
    t3 = time.perf_counter()
    return StepReport(len(ids), len(raw), written, t1 - t0, t2 - t1, t3 - t2)


def process(settings: WorkerSettings) -> StepReport:
    """Summarise each id's values: count, sum, mean, min, max and (population) std."""
    layout, index = settings.layout, settings.index
    t0 = time.perf_counter()
    raw = _read(layout.data_path(index), "The procured data")
    data = json.loads(raw)
    t1 = time.perf_counter()
    results = [_summary(i, v) for i, v in zip(data["ids"], data["values"], strict=True)]
    _compute(settings, len(results))
    t2 = time.perf_counter()
    document = {"workflow_id": settings.workflow_id, "index": index, "results": results}
    written = atomic_write_json(layout.results_path(index), document)
    t3 = time.perf_counter()
    return StepReport(len(results), len(raw), written, t1 - t0, t2 - t1, t3 - t2)


def egress(settings: WorkerSettings) -> StepReport:
    """Move the node's results to the egress store, verify the copy, then delete the source.

    Running it again for a node already moved finds the object in place and succeeds.
    """
    if not settings.egress_url:
        raise WorkerError("EGRESS_URL is not set: the job definition must set it.")
    store = open_store(settings.egress_url)
    key = egress_key(settings.workflow_id, settings.index)
    source = settings.layout.results_path(settings.index)
    t0 = time.perf_counter()
    try:
        payload = source.read_bytes()
    except FileNotFoundError:
        if store.size(key) is None:
            raise WorkerError(
                f"The results {source} are missing and {key} was never egressed: "
                "run process for this index first."
            ) from None
        moved = json.loads(store.get(key))
        return StepReport(len(moved["results"]), 0, 0, time.perf_counter() - t0, 0.0, 0.0)
    records = len(json.loads(payload)["results"])
    t1 = time.perf_counter()
    _compute(settings, records)
    t2 = time.perf_counter()
    store.put(key, payload)
    if store.size(key) != len(payload):
        raise WorkerError(f"The egress copy of {key} has the wrong size: retry the child.")
    source.unlink()
    t3 = time.perf_counter()
    return StepReport(records, len(payload), len(payload), t1 - t0, t2 - t1, t3 - t2)


STEP_RUNNERS: dict[str, Callable[[WorkerSettings], StepReport]] = {
    "procure": procure,
    "process": process,
    "egress": egress,
}
