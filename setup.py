"""Packaging beyond pyproject.toml: ``infra/`` and ``notebooks/`` stay at the top of the
repository and ship inside the package as ``pipeline.infra`` and ``pipeline.notebook_files``."""

from setuptools import find_packages, setup

KIT_FILES = {
    "pipeline.infra": "infra",
    "pipeline.infra.parameters": "infra/parameters",
    "pipeline.notebook_files": "notebooks",
}

setup(
    packages=[*find_packages(include=["pipeline", "pipeline.*"]), *KIT_FILES],
    package_dir=KIT_FILES,
    package_data={
        "pipeline": ["py.typed"],
        "pipeline.infra": ["*.yaml"],
        "pipeline.infra.parameters": ["*.json"],
        "pipeline.notebook_files": ["*.ipynb"],
    },
)
