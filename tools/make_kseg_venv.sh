#!/usr/bin/env bash
# Creates .venv-kseg: keras-segmentation 0.3.0 on TensorFlow 2.15.1 (CPU), for the generators
# that record what keras-segmentation itself does (tools/kseg_checkpoint_fixture.py,
# tools/kseg_predict_fixture.py, tools/cv2_resize_fixture.py). The Rust tests never need it.
#   bash tools/make_kseg_venv.sh [VENV_DIR]     (default .venv-kseg; needs python3.11)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv-kseg}
python3.11 -m venv "$venv"
"$venv/bin/pip" install -q -r tools/requirements-kseg.txt
# keras-segmentation's own requirements (h5py<=2.10.0, imgaug==0.2.9, imageio==2.5.0) do not
# install on Python 3.11; everything it imports at run time is in requirements-kseg.txt.
"$venv/bin/pip" install -q --no-deps keras-segmentation==0.3.0
echo "ready: $venv/bin/python"
