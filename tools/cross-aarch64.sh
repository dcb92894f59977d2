#!/usr/bin/env bash
# Builds the workspace for aarch64 (the NEON tier) on an x86_64 Debian machine and runs, under
# qemu-user: the kernels crate's tests (every proptest iterates Tier::available(), which there
# is reference, portable and neon) and the Keras checks of crates/verify (its table must list
# the neon tier). Prints how long each part took.
#
# The route needs no rustup target: Debian's rustc-web/cargo-web (/usr/bin) ship the std
# sources (rust-web-src), so `-Zbuild-std` compiles std for aarch64 (RUSTC_BOOTSTRAP=1 lets
# that stable compiler take the -Z flag). The cross linker and qemu come from Debian too.
# Linker and runner are set here through the environment, not a repo-wide .cargo/config.toml,
# so ordinary x86_64 builds are unaffected; the build goes to target-aarch64/ (git-ignored) so
# Debian's cargo never shares target/ with rustup's.
#
# Timing under qemu says nothing about aarch64 speed (every instruction is translated); this
# script checks that the tier builds and computes the right numbers, nothing more.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu
PACKAGES=(rustc-web cargo-web rust-web-src gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)

# -- 1. the toolchain, installed only if something is missing ------------------------------------
start=$SECONDS
missing=0
for need in /usr/bin/rustc /usr/bin/cargo /usr/lib/rustlib/src/rust/library/std \
  /usr/bin/aarch64-linux-gnu-gcc "$SYSROOT/lib/libc.so.6" /usr/bin/qemu-aarch64; do
  [ -e "$need" ] || { echo "missing: $need"; missing=1; }
done
if [ "$missing" = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: the aarch64 toolchain is incomplete and this is not root; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${PACKAGES[*]}" >&2
    exit 1
  fi
  echo "== apt-get install ${PACKAGES[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
fi
install_s=$((SECONDS - start))
echo "== toolchain: $(/usr/bin/rustc --version), $(/usr/bin/qemu-aarch64 --version | head -n1) (${install_s} s)"

export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=target-aarch64
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $SYSROOT"
# Plain -Zbuild-std builds std with unwinding (cargo adds `test` for the harness), which the
# tests need: a failed assertion is caught per test, and `should_panic` works.
cross=(/usr/bin/cargo -Zbuild-std --target "$TARGET" --release)
cargo_x() { "${cross[0]}" "$1" "${cross[@]:1}" "${@:2}"; }

# -- 2. build the workspace (libraries, the CLI, the verify binary) ------------------------------
start=$SECONDS
echo "== cargo build --workspace (aarch64)"
cargo_x build --workspace
build_s=$((SECONDS - start))

# -- 3. the kernels' tests under qemu ------------------------------------------------------------
# The proptests fix their case counts in the test files (ProptestConfig { cases, .. } overrides
# PROPTEST_CASES), and the full counts take about 1.5 minutes under qemu: they run as written.
start=$SECONDS
echo "== cargo test -p mobilenet-unet-kernels (aarch64, under qemu)"
# Every tier an aarch64 build has must be tested: a missing one fails instead of skipping.
MOBILENET_UNET_REQUIRE_TIERS=reference,portable,neon cargo_x test -p mobilenet-unet-kernels
kernels_s=$((SECONDS - start))

# -- 4. the Keras checks under qemu, on every tier the build has --------------------------------
start=$SECONDS
echo "== cargo run -p mobilenet-unet-verify (aarch64, under qemu)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo_x run -p mobilenet-unet-verify | tee "$log"
verify_s=$((SECONDS - start))
if ! grep -q '^Engine tier: neon;.*Neon' "$log" || ! grep -q 'Conv2D neon .*PASS' "$log" \
  || ! grep -q 'Conv2D winograd neon .*PASS' "$log"; then
  echo "error: the verify run did not check the neon tier (see its first line above)" >&2
  exit 1
fi

echo "== aarch64 done: toolchain ${install_s} s, build ${build_s} s, kernel tests ${kernels_s} s, verify ${verify_s} s"
