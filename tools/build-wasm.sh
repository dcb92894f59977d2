#!/usr/bin/env bash
# The browser build: the kernels' tests under WebAssembly, the module the book's "Try it" page
# runs, and that page's self-test in headless Chromium against the native engine's fixtures.
#
#   bash tools/build-wasm.sh                 all of the below
#   bash tools/build-wasm.sh --no-test       only step 3 (build the module into docs/src/try/pkg)
#   bash tools/build-wasm.sh --screenshot    also retake docs/figures/try-it.png
#
# 1. Toolchain (Debian packages only, installed if missing, as tools/cross-aarch64.sh does):
#    rustc-web/cargo-web 1.96 with the std sources (rust-web-src) build std for the wasm
#    targets with -Zbuild-std (RUSTC_BOOTSTRAP=1 lets that stable compiler take the -Z flag);
#    lld-22 links; wasi-libc and llvm-22 (llvm-mc) serve the WASI test binaries; chromium runs
#    the pages. puppeteer-core (npm, tools/wasm/package-lock.json) drives that chromium.
# 2. The kernels crate's tests for wasm32-wasip1 with SIMD128, run by node's WASI: every
#    proptest iterates Tier::available(), which there is reference, portable and wasm-simd128
#    (required: MOBILENET_UNET_REQUIRE_TIERS, passed through to WASI, fails a test that skips one).
#    Tests that build a thread pool are skipped (WASI preview 1 has no threads; rayon's global
#    pool runs on the calling thread), and said so.
# 3. crates/wasm for wasm32-unknown-unknown with SIMD128 -> docs/src/try/pkg/ (git-ignored),
#    with the default weights and the example images; fails if the module exceeds 1.5 MB.
# 4. The self-test page in headless Chromium (tools/wasm/browser.mjs selftest docs/src).
set -euo pipefail
cd "$(dirname "$0")/.."

test=1 screenshot=0
for arg in "$@"; do
  case "$arg" in
    --no-test) test=0 ;;
    --screenshot) screenshot=1 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

PACKAGES=(rustc-web cargo-web rust-web-src lld-22 llvm-22 wasi-libc chromium)
MAX_WASM_BYTES=$((1536 * 1024))
PKG=docs/src/try/pkg

# -- 1. the toolchain, installed only if something is missing ------------------------------------
missing=0
for need in /usr/bin/rustc /usr/bin/cargo /usr/lib/rustlib/src/rust/library/std /usr/bin/wasm-ld-22 \
  /usr/bin/llvm-mc-22 /usr/lib/wasm32-wasi/libc.a /usr/bin/chromium; do
  [ -e "$need" ] || { echo "missing: $need"; missing=1; }
done
if [ "$missing" = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: the wasm toolchain is incomplete and this is not root; run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${PACKAGES[*]}" >&2
    exit 1
  fi
  echo "== apt-get install ${PACKAGES[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
fi
echo "== toolchain: $(/usr/bin/rustc --version), $(/usr/bin/chromium --version 2>/dev/null), node $(node --version)"

export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=target-wasm
SIMD="-C target-feature=+simd128"

# -- 2. the kernels' tests under node's WASI -------------------------------------------------------
if [ "$test" = 1 ]; then
  stubs=$CARGO_TARGET_DIR/wasi_pthread_stubs.o
  mkdir -p "$CARGO_TARGET_DIR"
  llvm-mc-22 --triple=wasm32-wasi -filetype=obj tools/wasm/wasi_pthread_stubs.s -o "$stubs"
  # Debian's wasi-libc is linked as a plain library (the official target links its own copy,
  # which build-std does not make): crt1-command.o is the entry point of a command module.
  RUSTFLAGS="$SIMD -C linker=wasm-ld-22 -C link-self-contained=no -L /usr/lib/wasm32-wasi \
-C link-arg=/usr/lib/wasm32-wasi/crt1-command.o -C link-arg=$PWD/$stubs" \
  CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings $PWD/tools/wasm/run_wasi.mjs" \
  MOBILENET_UNET_REQUIRE_TIERS=reference,portable,wasm-simd128 \
    /usr/bin/cargo test -Zbuild-std=std,panic_abort,test --target wasm32-wasip1 --release \
    -p mobilenet-unet-kernels -- \
    --skip two_threads_get_nearly_equal_rows \
    --skip every_schedule_and_block_size_gives_the_same_bits \
    --skip one_and_two_threads_are_bit_identical \
    --skip decoder_like_conv_is_bit_identical_on_one_and_two_threads \
    --skip thread_count_does_not_change_bits \
    --skip warmed_up_convolutions_allocate_nothing
  echo "== SKIPPED under WASI (no threads): the 5 tests that compare one and two threads, and"
  echo "   tests/no_alloc.rs, which counts allocations on pools of 1 and 2 threads"
fi

# -- 3. the module for the page ---------------------------------------------------------------------
echo "== crates/wasm for wasm32-unknown-unknown (+simd128)"
RUSTFLAGS="$SIMD -C linker=wasm-ld-22" \
  /usr/bin/cargo build -Zbuild-std=std,panic_abort --target wasm32-unknown-unknown --release \
  -p mobilenet-unet-wasm
wasm=$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/mobilenet_unet_wasm.wasm
mkdir -p "$PKG/examples"
cp "$wasm" "$PKG/"
cp weights/mobilenet_unet_shapes.safetensors "$PKG/"
cp examples/images/*.png "$PKG/examples/"
bytes=$(stat -c %s "$PKG/mobilenet_unet_wasm.wasm")
echo "== $PKG/mobilenet_unet_wasm.wasm: $bytes bytes (limit $MAX_WASM_BYTES)"
if [ "$bytes" -gt "$MAX_WASM_BYTES" ]; then
  echo "the module is larger than 1.5 MB" >&2
  exit 1
fi

# -- 4. the self-test in headless Chromium ----------------------------------------------------------
if [ "$test" = 1 ] || [ "$screenshot" = 1 ]; then
  (cd tools/wasm && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "$test" = 1 ]; then
  echo "== self-test in headless Chromium (docs/src/try/selftest.html)"
  node tools/wasm/browser.mjs selftest docs/src
fi
if [ "$screenshot" = 1 ]; then
  node tools/wasm/browser.mjs screenshot docs/src docs/figures/try-it.png
fi
