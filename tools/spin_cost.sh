#!/usr/bin/env bash
# What spinning buys and costs on a pool the model owns (issue 23): latency and CPU time
# (user + sys) per inference with `Spin::Off` and with `Spin::WithinPass`, measured in one
# run, interleaved, with the `server` example (one request thread, so each image is one
# pass at a time on the model's pool: latency = 1 / images per second).
#
#   cargo build --release -p mobilenet-unet --features default-model --example server
#   tools/spin_cost.sh                            # 224x224, 2 threads, 5 rounds of 5 s each
#   ROUNDS=7 SECONDS_PER_RUN=10 SIZE=416x608 THREADS=2 tools/spin_cost.sh
#
# Prints, per setting, the median over rounds of: ms per image, CPU ms per image (user + sys
# of the whole process, from /usr/bin/time), and CPU per image / latency (how many cores the
# pass kept busy). Pick ModelBuilder's default for an owned pool from these numbers.
set -euo pipefail
BIN=${BIN:-target/release/examples/server}
ROUNDS=${ROUNDS:-5} SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
SIZE=${SIZE:-224x224} THREADS=${THREADS:-2}
[ -x "$BIN" ] || { echo "build it first: cargo build --release -p mobilenet-unet --features default-model --example server" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A lat cpu
for _ in $(seq "$ROUNDS"); do
  for spin in off within-pass; do
    /usr/bin/time -f '%U %S' -o "$tmp/time" "$BIN" --requests-threads 1 --threads "$THREADS" \
      --spin "$spin" --size "$SIZE" --seconds "$SECONDS_PER_RUN" >"$tmp/out"
    images=$(awk '{print $1}' "$tmp/out")
    rate=$(sed -E 's/.*: ([0-9.]+) images\/s.*/\1/' "$tmp/out")
    read -r user sys <"$tmp/time"
    lat[$spin]+="$(python3 -c "print(1000/$rate)") "
    cpu[$spin]+="$(python3 -c "print(1000*($user+$sys)/$images)") "
  done
done
median() { python3 -c 'import statistics, sys; print(f"{statistics.median(map(float, sys.argv[1:])):.2f}")' $1; }
printf '%-12s %14s %18s %10s\n' spin 'ms per image' 'CPU ms per image' 'cores'
for spin in off within-pass; do
  l=$(median "${lat[$spin]}") c=$(median "${cpu[$spin]}")
  printf '%-12s %14s %18s %10s\n' "$spin" "$l" "$c" "$(python3 -c "print(f'{$c/$l:.2f}')")"
done
# Idle check: after a pass with Spin::Off the process uses no CPU (crates/model/tests/spin.rs
# asserts it from the threads' states).
