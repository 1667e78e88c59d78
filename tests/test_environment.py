"""environment.yml (conda, for JupyterLab / SageMaker Studio) must match pyproject.toml."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_ONLY = {"python", "pip"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _requirements(names):
    return {_name(item): item.replace(" ", "") for item in names}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expected = _requirements(project["dependencies"] + project["optional-dependencies"]["notebook"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    got = {k: v for k, v in _requirements(conda).items() if k not in CONDA_ONLY}
    assert got == expected, "environment.yml drifted from pyproject.toml: make their lists equal"
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert any(line.startswith("-e .[") and "notebook" in line for line in pip_section)


def test_python_floor_is_the_same():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python>=3.11" in env["dependencies"]
    assert project["requires-python"] == ">=3.11"
