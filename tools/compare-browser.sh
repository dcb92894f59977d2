#!/usr/bin/env bash
# Times our WebAssembly engine against onnxruntime-web in headless Chromium, on the seed's
# network at 224x224 and on the default model at 128x128 (docs/src/try/compare.html), and
# writes the Markdown table with the browser's version to docs/figures/browser_comparison.md,
# which the book's chapter 8 includes. Needs tools/build-wasm.sh first:
#
#   bash tools/build-wasm.sh --no-test && bash tools/compare-browser.sh [ROUNDS RUNS]
#
# The models come from tools/wasm/make_compare_models.py (numpy + onnx in a venv made here,
# target-wasm/venv-onnx, from tools/wasm/requirements-onnx.txt); onnxruntime-web from npm
# (tools/wasm/package-lock.json). Timings mean something only on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7} runs=${2:-10}
PKG=docs/src/try/pkg

[ -e "$PKG/mobilenet_unet_wasm.wasm" ] || { echo "run tools/build-wasm.sh first" >&2; exit 1; }
venv=target-wasm/venv-onnx
if ! "$venv/bin/python" -c "import onnx, numpy, h5py" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r tools/wasm/requirements-onnx.txt
fi
"$venv/bin/python" tools/wasm/make_compare_models.py

(cd tools/wasm && npm ci --no-audit --no-fund --loglevel=error)
mkdir -p "$PKG/ort"
for f in ort.wasm.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm; do
  cp "tools/wasm/node_modules/onnxruntime-web/dist/$f" "$PKG/ort/"
done
out=docs/figures/browser_comparison.md
COMPARE_QUERY="?rounds=$rounds&runs=$runs" node tools/wasm/browser.mjs compare docs/src | tee "$out.log"
# The table (the lines from "Browser:" on) is what the book includes.
{
  echo "Measured $(date -u +%Y-%m-%d) with \`bash tools/compare-browser.sh $rounds $runs\`"
  echo "on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'). $(sed -n '/^Browser:/,$p' "$out.log")"
} > "$out"
rm "$out.log"
echo "== wrote $out"
