"""The files the kit ships beside its code, found wherever the kit is installed.

``infra/`` (the CloudFormation templates) and ``notebooks/`` stay at the top of the
repository and go into the wheel as the package data ``pipeline.infra`` and
``pipeline.notebook_files`` (``setup.py`` maps them), so a plain ``pip install`` deploys
and runs; an editable install reads the checkout's folders through the same names.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def infra_folder() -> Path:
    """The folder of the kit's CloudFormation templates (``template.yaml``, ...)."""
    return Path(str(files("pipeline.infra")))


def notebooks_folder() -> Path:
    """The folder of the kit's committed notebooks."""
    return Path(str(files("pipeline.notebook_files")))


def source_root() -> Path:
    """The folder that holds the ``pipeline`` package: the checkout in a source or editable
    install (with ``containers/`` and ``pyproject.toml`` beside it), site-packages in a
    wheel install."""
    return Path(str(files("pipeline"))).parent
