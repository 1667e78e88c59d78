"""The notebook runner: the kit's notebooks as a registry of steps, executed in order
with papermill into ``runs/<UTC timestamp>/`` and converted to HTML with nbconvert.

Each :class:`NotebookStep` names a notebook under ``notebooks/``, the parameters the runner
gives it by default, and the keys it hands to the notebooks after it. Every notebook runs
with its working directory set to the run folder, so what it writes with a relative path
lands next to its executed copy (by hand in JupyterLab: next to the notebook). A step that
hands something on writes it with :func:`write_handoff` as ``<name>.json``; the runner
reads that sidecar and passes each handed-on key to every later notebook that declares a
parameter of that name. Parameter precedence, lowest first: the notebook's own defaults,
the step's defaults, values handed on, the caller's.

papermill and nbconvert are imported only when notebooks run, so a notebook can import
this module cheaply for :func:`write_handoff`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import N2NError
from pipeline.kit_files import notebooks_folder

RUNS_DIR = Path("runs")
KERNEL_NAME = "python3"
"""The venv's kernel: inside a virtual environment Jupyter prefers the environment's
kernelspec, whose ``python`` jupyter_client resolves to the running interpreter."""


class NotebookError(N2NError):
    """A notebook that cannot be found, parameterized or executed."""


@dataclass(frozen=True)
class NotebookStep:
    """One notebook of the kit: its defaults and what it hands to the notebooks after it."""

    name: str
    help: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    hands_off: tuple[str, ...] = ()
    hide_code: bool = False
    """Leave code cells out of the step's HTML (a report for readers, not for coders)."""

    @property
    def path(self) -> Path:
        """The committed notebook."""
        return notebooks_folder() / f"{self.name}.ipynb"

    @property
    def short_name(self) -> str:
        """The name without its order prefix (``deploy`` for ``01_deploy``)."""
        return self.name.split("_", 1)[-1]


NOTEBOOKS: dict[str, NotebookStep] = {}
"""Every notebook step by name, in the order a full run executes them."""


def register(step: NotebookStep) -> NotebookStep:
    """Add ``step`` to the runner, after the steps registered before it."""
    NOTEBOOKS[step.name] = step
    return step


register(NotebookStep("01_deploy", "Deploy the stack; its parameters and outputs as tables."))
register(
    NotebookStep(
        "02_run",
        "Start an execution and wait for it; hands its execution ARN on.",
        hands_off=("execution_arn",),
    )
)
register(
    NotebookStep(
        "03_analyze",
        "Timeline, metrics and the four figures of an execution (default: the latest).",
        parameters={"out_dir": "analysis"},
    )
)
register(NotebookStep("04_teardown", "Delete the stack (purge=True: its data too)."))
register(NotebookStep("05_compare", "The same workload under N_TO_N and BARRIER, per skew."))
register(
    NotebookStep(
        "06_report",
        "The stack's executions in a window: table, trends, Gantt of the latest.",
        parameters={"out_dir": "report"},
        hide_code=True,
    )
)
register(
    NotebookStep("07_capacity", "Predicted makespan and cost of an execution under other MaxVcpus.")
)


def find_step(name: str) -> NotebookStep:
    """The step called ``name``, with or without its order prefix (``01_deploy``, ``deploy``)."""
    for step in NOTEBOOKS.values():
        if name in (step.name, step.short_name, f"{step.name}.ipynb"):
            return step
    raise NotebookError(f"There is no notebook {name!r}: use one of {', '.join(NOTEBOOKS)}.")


LITERALS = (str, int, float, bool, list, dict)


def parse_value(text: str) -> Any:
    """A ``-p`` value as papermill reads one: a JSON or YAML literal (``2000``, ``1e3``,
    ``[1.0, 2.0]``, ``{skew: 1}``, ``true``, ``null``), else the string itself."""
    for parse in (json.loads, yaml.safe_load):
        try:
            value = parse(text)
        except (ValueError, yaml.YAMLError):
            continue
        if isinstance(value, LITERALS) or text.strip() in ("null", "~"):
            return value
    return text


def handoff_path(folder: str | Path, name: str) -> Path:
    """Where the step ``name`` writes what it hands on."""
    return Path(folder) / f"{name}.json"


def write_handoff(name: str, values: Mapping[str, Any], folder: str | Path = ".") -> Path:
    """Write the sidecar of step ``name`` (JSON) into ``folder``; return its path."""
    path = handoff_path(folder, name)
    path.write_text(json.dumps(dict(values), indent=2, default=str) + "\n")
    return path


def handed_off(name: str, key: str, folder: str | Path = ".") -> Any:
    """The value ``key`` that step ``name`` handed on in ``folder`` (None when it has not):
    what a notebook run by hand in JupyterLab reads, as the runner passes it."""
    try:
        return json.loads(handoff_path(folder, name).read_text()).get(key)
    except (OSError, ValueError):
        return None


def declared_parameters(step: NotebookStep) -> set[str]:
    """The parameter names of the step's ``parameters`` cell."""
    import papermill

    return set(papermill.inspect_notebook(str(step.path)))


def _check_parameters(declared: Mapping[str, set[str]], given: Mapping[str, Any]) -> None:
    unknown = sorted(set(given).difference(*declared.values()))
    if unknown:
        raise NotebookError(
            f"No notebook of this run ({', '.join(declared)}) has a parameter "
            f"{', '.join(unknown)}: check the -p names."
        )


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0].rstrip(".")


def _kernel_config() -> Any:
    """Encrypt the kernel's local sockets when pyzmq can (and so spare ipykernel's warning
    about plain TCP)."""
    import zmq
    from traitlets.config import Config

    policy = "auto" if zmq.has("curve") else "disabled"
    return Config({"KernelManager": {"transport_encryption": policy}})


def _execute(step: NotebookStep, output: Path, parameters: dict[str, Any], kernel: str) -> None:
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(step.path),
            str(output),
            parameters=parameters,
            kernel_name=kernel,
            cwd=str(output.parent),
            progress_bar=False,
            config=_kernel_config(),
        )
    except PapermillExecutionError as error:
        raise NotebookError(
            f"Notebook {step.name} failed in cell [{error.exec_count}] with {error.ename}: "
            f"{_first_line(error.evalue)} (see {output})."
        ) from None
    except DeadKernelError as error:
        raise NotebookError(
            f"Notebook {step.name} lost its kernel: {_first_line(str(error))} (see {output})."
        ) from None


def _to_html(notebook: Path, hide_code: bool) -> None:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=hide_code, exclude_output_prompt=hide_code)
    body, _ = exporter.from_filename(str(notebook))
    notebook.with_suffix(".html").write_text(body, encoding="utf-8")


def _read_handoff(step: NotebookStep, folder: Path) -> dict[str, Any]:
    if not step.hands_off:
        return {}
    path = handoff_path(folder, step.name)
    try:
        sidecar = json.loads(path.read_text())
    except (OSError, ValueError):
        raise NotebookError(
            f"Notebook {step.name} did not write a readable {path}: it must end with "
            "write_handoff(...)."
        ) from None
    missing = [key for key in step.hands_off if key not in sidecar]
    if missing:
        raise NotebookError(f"{path} lacks {', '.join(missing)}: {step.name} must write them.")
    return {key: sidecar[key] for key in step.hands_off}


def run_folder(parent: str | Path = RUNS_DIR) -> Path:
    """A new ``<parent>/<UTC timestamp>/`` folder."""
    folder = Path(parent) / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_notebooks(
    names: Iterable[str] = (),
    parameters: Mapping[str, Any] | None = None,
    out_dir: str | Path | None = None,
    kernel_name: str = KERNEL_NAME,
) -> list[Path]:
    """Execute the named notebooks (default: every step) in registry order into
    ``out_dir`` (default: a new ``runs/<UTC timestamp>/``), each also as HTML; return the
    executed notebooks. ``parameters`` go to every notebook that declares them."""
    wanted = {find_step(name).name for name in names} or set(NOTEBOOKS)
    steps = [step for step in NOTEBOOKS.values() if step.name in wanted]
    given = dict(parameters or {})
    declared = {step.name: declared_parameters(step) for step in steps}
    _check_parameters(declared, given)
    folder = Path(out_dir) if out_dir else run_folder()
    folder.mkdir(parents=True, exist_ok=True)
    handed: dict[str, Any] = {}
    executed = []
    for step in steps:
        values = {**step.parameters, **handed, **given}
        accepted = {key: value for key, value in values.items() if key in declared[step.name]}
        output = folder / f"{step.name}.ipynb"
        try:
            _execute(step, output, accepted, kernel_name)
        finally:
            if output.exists():
                _to_html(output, step.hide_code)
        executed.append(output)
        handed.update(_read_handoff(step, folder))
    return executed
