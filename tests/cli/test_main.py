"""The ``n2n`` entry point: a fast start that imports only the command being run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipeline.cli.main import main

HEAVY = {"pandas", "matplotlib", "botocore", "boto3", "papermill", "numpy"}

LOADED = """
import json, sys
from pipeline.cli.main import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("argv", [["--version"], ["--help"], []])
def test_version_and_help_load_no_heavy_library(argv):
    done = subprocess.run(
        [sys.executable, "-c", LOADED.format(argv=argv)],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = {name.partition(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}
    assert loaded & HEAVY == set()
    assert "n2n" in done.stdout + done.stderr


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    assert exit.value.code == 0
    listed = capsys.readouterr().out
    for name in ("analyze", "demo", "deploy", "notebooks", "report", "rerun", "run"):
        assert f"    {name}" in listed


def test_a_command_is_configured_when_named(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["run", "--help"])
    assert exit.value.code == 0
    assert "--ids-per-node" in capsys.readouterr().out


def test_an_unknown_command_is_one_usage_error(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["runn"])
    assert exit.value.code == 2
    assert "invalid choice: 'runn'" in capsys.readouterr().err
