"""The EFS layout: the one module that knows where a run's files live.

``{root}/{workflow_id}/{index}/prep/ids.json``, ``.../data/``, ``.../results/``; a rerun's
own tree holds only ``{root}/{rerun_id}/index_map.json`` (child k runs node ``map[k]`` of
the workflow it reruns).
Every write is atomic (temp file in the same folder, fsync, ``os.replace``), so a retried
or killed child never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IDS_FILE = "prep/ids.json"
DATA_FILE = "data/values.json"
RESULTS_FILE = "results/results.json"
INDEX_MAP_FILE = "index_map.json"


@dataclass(frozen=True)
class RunLayout:
    """Paths of one workflow's tree on the shared file system."""

    root: Path
    workflow_id: str

    @property
    def workflow_dir(self) -> Path:
        """The folder holding every node of the workflow."""
        return Path(self.root) / self.workflow_id

    def node_dir(self, index: int) -> Path:
        """The folder of array node ``index``."""
        return self.workflow_dir / str(index)

    @property
    def index_map_path(self) -> Path:
        """A rerun's list of the rerun workflow's indices, in array order."""
        return self.workflow_dir / INDEX_MAP_FILE

    def ids_path(self, index: int) -> Path:
        """The node's list of ids, written by the prepare Lambda."""
        return self.node_dir(index) / IDS_FILE

    def data_path(self, index: int) -> Path:
        """The node's generated data, written by procure."""
        return self.node_dir(index) / DATA_FILE

    def results_path(self, index: int) -> Path:
        """The node's results, written by process and moved away by egress."""
        return self.node_dir(index) / RESULTS_FILE


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` so readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_json(document: Any) -> bytes:
    """The compact JSON bytes the pipeline writes everywhere."""
    return json.dumps(document, separators=(",", ":")).encode()


def atomic_write_json(path: Path, document: Any) -> int:
    """Atomically write ``document`` as compact JSON; return the bytes written."""
    payload = dump_json(document)
    atomic_write_bytes(path, payload)
    return len(payload)


def read_json(path: Path) -> Any:
    """Read a JSON file written by :func:`atomic_write_json`."""
    return json.loads(Path(path).read_bytes())
