#!/usr/bin/env bash
# Check that the lower bounds in requirements.txt and requirements-dev.txt are true: build a virtualenv in which every requirement is
# installed at exactly its floor (`torch>=2.4` -> `torch==2.4`), then run the tests in it.
#
#   tools/floors.sh                      build the environment (if missing) and run the whole suite, as the README's `pytest`
#   tools/floors.sh tests                run only the unit tests (no notebooks)
#   FLOORS_VENV=/tmp/f tools/floors.sh   put the environment elsewhere;  PYTHON=python3.10 picks the interpreter
#
# The environment goes to ~/.cache/transformer-fundamentals-floors by default, outside the repository, so that
# ruff and pytest never wander into it.
#
# Not part of the default test run: it downloads every package at its floor version (on Linux, torch 2.4 from
# PyPI brings its CUDA libraries: the environment was 5.4 GB, 2.7 GB of it NVIDIA libraries). numpy 1.24 has wheels for Python 3.8 to 3.11 only, so run it with
# Python 3.10 or 3.11. The README's `pytest` is the portable check: every notebook cell runs and its asserts must
# hold, and only the cells tagged nbval-check-output (exact by construction) are compared, so the whole suite must
# pass at the floors too. The digit-by-digit reference check needs the pinned versions and is not run here.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${FLOORS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/transformer-fundamentals-floors}"
python="${PYTHON:-python3}"

# Every "name>=version" line of requirements.txt (the learner's) and requirements-dev.txt (the test tools), as
# "name==version". Not constraints.txt: those are the newest versions tested, these the oldest.
mapfile -t floors < <(sed -n 's/^\([A-Za-z0-9_.-]*\)>=\([0-9][0-9.]*\).*$/\1==\2/p' \
    "$root/requirements.txt" "$root/requirements-dev.txt")
if [ "${#floors[@]}" -eq 0 ]; then
    echo "floors.sh: no 'name>=version' lines found in requirements.txt and requirements-dev.txt" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
echo "installing the floors into $venv: ${floors[*]}"
"$venv/bin/python" -m pip install --quiet "${floors[@]}"
"$venv/bin/python" -m pip freeze | grep -iE "^($(printf '%s|' "${floors[@]%%==*}" | sed 's/|$//'))==" || true

cd "$root"
"$venv/bin/python" -m pytest "$@"
