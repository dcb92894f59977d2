#!/usr/bin/env bash
# The published crates work from their packages (issue 23): `cargo package` for every crate
# meant for crates.io (verify and the benches are repository tools), then the CLI installed from
# its packaged source, with the library and kernels from *their* packaged sources (not the
# workspace), segments an example image with no --weights: the default model must be inside
# the mobilenet-unet package.
#
#   tools/check_package.sh        # needs the crates.io index (for the dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo package --workspace --exclude mobilenet-unet-verify --exclude mobilenet-unet-benches \
  --exclude mobilenet-unet-python --exclude mobilenet-unet-wasm --allow-dirty
version=$(cargo metadata --no-deps --format-version 1 |
  python3 -c 'import json, sys; print([p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "mobilenet-unet"][0])')
pkg=$PWD/target/package
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# The packaged CLI names its siblings by version, as crates.io would serve them: patch them to
# the packaged (unpacked) sources. The release target dir is shared so the dependencies built
# by the earlier CI steps are reused.
cargo install --path "$pkg/mobilenet-unet-cli-$version" --root "$root" --target-dir target \
  --config "patch.crates-io.mobilenet-unet.path=\"$pkg/mobilenet-unet-$version\"" \
  --config "patch.crates-io.mobilenet-unet-kernels.path=\"$pkg/mobilenet-unet-kernels-$version\""
out=$(mktemp -d)
"$root/bin/mobilenet-unet" segment examples/images/shapes_1.png --output-dir "$out"
ls "$out" | grep -q . || { echo "segment wrote nothing to $out" >&2; exit 1; }
echo "packaged CLI segmented examples/images/shapes_1.png: $(ls "$out" | tr '\n' ' ')"
rm -rf "$out"
