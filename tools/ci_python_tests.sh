#!/usr/bin/env bash
# The Python tests that need neither TensorFlow nor Keras, in a light venv (numpy + h5py):
# the TensorFlow checkpoint reader against a committed TF-written checkpoint, and its error paths.
#   bash tools/ci_python_tests.sh [VENV_DIR]     (default .venv-ci)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-ci}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q -r tools/requirements-ci.txt  # not bin/pip: see crates/python/ci.sh
"$venv/bin/python" -W error::ResourceWarning -m unittest discover -s tools -p 'test_tf_checkpoint.py' -v
