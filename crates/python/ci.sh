#!/usr/bin/env bash
# The Python package's CI step (called by .ci/run): a fresh virtualenv with the pinned test
# tools (requirements-ci.txt: maturin, pytest, numpy, h5py, ray[data], pillow), the package
# built from source by `pip install ./crates/python[keras]` as a user would, the Rust command
# line built to compare with, then pytest. pytest's exit status 5 (no test collected) fails.
#
#   bash crates/python/ci.sh            # venv in target/python-ci-venv (reused if present)
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=${MOBILENET_UNET_VENV:-$PWD/target/python-ci-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
# maturin's build hook runs the `maturin` command: the venv's, from PATH.
export PATH="$venv/bin:$PATH"
# `python -m pip`, not `$venv/bin/pip`: a venv copied from another checkout's target/ keeps
# that checkout's path in its scripts' #! lines, and its pip would install over there.
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
"${pip[@]}" -r crates/python/requirements-ci.txt
# As a user installs it; --no-build-isolation builds with the pinned maturin just installed
# (a local folder is always rebuilt and reinstalled, so a reused venv gets today's code).
"${pip[@]}" --no-build-isolation './crates/python[keras]'

cargo build --release -p mobilenet-unet-cli

# Import the installed package, not the source tree (pytest runs from crates/python).
cd crates/python
status=0
"$venv/bin/python" -m pytest tests -p no:cacheprovider -ra || status=$?
if [ "$status" -eq 5 ]; then
  echo "crates/python/ci.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
