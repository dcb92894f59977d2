#!/usr/bin/env bash
# How much of the second core our two threads use, against what the machine itself allows.
#
# For each size, ROUNDS interleaved rounds of three measurements with one binary:
#   solo  one `bench --threads 1` alone                       -> t1
#   pair  two `bench --threads 1` processes at the same time  -> t1' (each), the machine's ceiling:
#         2 * t1 / t1' is the speedup two fully independent copies get (shared L3, memory
#         bandwidth, clocks; nothing of ours is shared)
#   duo   one `bench --threads 2`                              -> t2, our speedup t1 / t2
# and prints the medians and both speedups. If ours is below the ceiling, the gap is our
# threading (work split, synchronisation, each thread re-reading shared weights); if the
# ceiling itself is below 2, that part is the machine.
#
#   tools/thread_scaling.sh [BINARY]        # default target/release/mobilenet-unet
#   ROUNDS=7 RUNS=10 SIZES="224x224 416x608" tools/thread_scaling.sh
set -euo pipefail
BIN=${1:-target/release/mobilenet-unet}
ROUNDS=${ROUNDS:-5} RUNS=${RUNS:-7}
SIZES=${SIZES:-"224x224 416x608"}
median_ms() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["median_ms"])' "$1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for size in $SIZES; do
  solo=() pair=() duo=()
  for _ in $(seq "$ROUNDS"); do
    "$BIN" bench --size "$size" --threads 1 --runs "$RUNS" --json >"$tmp/solo.json"
    solo+=("$(median_ms "$tmp/solo.json")")
    "$BIN" bench --size "$size" --threads 1 --runs "$RUNS" --json >"$tmp/p1.json" &
    "$BIN" bench --size "$size" --threads 1 --runs "$RUNS" --json >"$tmp/p2.json"
    wait
    pair+=("$(median_ms "$tmp/p1.json")" "$(median_ms "$tmp/p2.json")")
    "$BIN" bench --size "$size" --threads 2 --runs "$RUNS" --json >"$tmp/duo.json"
    duo+=("$(median_ms "$tmp/duo.json")")
  done
  python3 - "$size" "${solo[*]}" "${pair[*]}" "${duo[*]}" <<'PY'
import statistics as st, sys
size = sys.argv[1]
solo, pair, duo = ([float(x) for x in a.split()] for a in sys.argv[2:5])
s, p, d = st.median(solo), st.median(pair), st.median(duo)
print(f"{size}: 1 thread {s:7.2f} ms | two 1-thread processes {p:7.2f} ms each "
      f"(machine ceiling {2 * s / p:.2f}x) | 2 threads {d:7.2f} ms (ours {s / d:.2f}x, "
      f"{s / d / (2 * s / p):.0%} of the ceiling)")
PY
done
