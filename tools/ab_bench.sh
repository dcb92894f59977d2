#!/usr/bin/env bash
# Interleaved A/B latency of two `mobilenet-unet` binaries on the same machine, in one sitting:
# for each size and thread count, ROUNDS rounds of `bench --runs RUNS`, alternating A and B, and
# the median (and min) of the per-round medians. Alternating matters on a shared machine: a
# noisy minute then hurts both sides instead of one.
#
#   tools/ab_bench.sh OLD_BINARY NEW_BINARY          # e.g. a build of the previous commit
#   ROUNDS=7 RUNS=10 SIZES="224x224 416x608" THREADS="1 2" tools/ab_bench.sh A B
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 A_BINARY B_BINARY" >&2
  exit 2
fi
A=$1 B=$2
ROUNDS=${ROUNDS:-5} RUNS=${RUNS:-7}
SIZES=${SIZES:-"224x224 416x608"} THREADS=${THREADS:-"1 2"}
median_ms() { "$1" bench --size "$2" --threads "$3" --runs "$RUNS" --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["median_ms"])'; }
for size in $SIZES; do
  for t in $THREADS; do
    a=() b=()
    for _ in $(seq "$ROUNDS"); do
      a+=("$(median_ms "$A" "$size" "$t")")
      b+=("$(median_ms "$B" "$size" "$t")")
    done
    python3 - "$size" "$t" "${a[*]}" "${b[*]}" <<'PY'
import statistics as st, sys
size, t, a, b = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
print(f"{size} {t}T  A {st.median(a):8.2f} ms (min {min(a):8.2f})  "
      f"B {st.median(b):8.2f} ms (min {min(b):8.2f})  B/A {st.median(b) / st.median(a):.3f}")
PY
  done
done
