#!/usr/bin/env bash
# Scripted check (not a test: it installs from PyPI): the kit works from a plain, not
# editable, install, with infra/ and notebooks/ read from the wheel.
#
#     bench/wheel_install.sh [WORKDIR]
#
# Builds the wheel, installs it with the notebook extra into a fresh venv, then from an
# empty folder with a private N2N_HOME runs `n2n deploy`, `n2n run --wait` and
# `n2n notebooks run` (small sizes) and lists what the notebooks wrote there.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
python="${PYTHON:-python3}"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/wheel" "$here"
"$python" -m venv "$work/venv"
wheel="$(ls "$work"/wheel/n2n_kit-*.whl)"
"$work/venv/bin/pip" install --quiet "$wheel[notebook]"
mkdir -p "$work/empty"
cd "$work/empty"
export N2N_HOME="$work/home"
"$work/venv/bin/n2n" deploy
"$work/venv/bin/n2n" run --wait --ids 2000 --ids-per-node 20
"$work/venv/bin/n2n" notebooks run -p id_count 2000 -p ids_per_node 20
find "$work/empty/runs" -maxdepth 2 -name '*.html' | sort
