#!/usr/bin/env bash
# The executor benchmarks end to end: RUNS criterion runs of every group (saved
# as baselines run1..runRUNS), the allocation counter, then the summary.
# Everything is built once up front and the same two binaries serve every run,
# so a source edit during the runs cannot mix builds. Results go to
# benches/results/ (ignored by git).
#
#   benches/run.sh                       # RUNS=3
#   RUNS=5 benches/run.sh
#   LWT_MICRO=/tmp/lwt/lwt_micro benches/run.sh   # also run the Lwt anchor
#                                        # (shared anchors/lwt/build.sh) 3 times
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${RUNS:-3}
OUT=results
mkdir -p "$OUT"

# Path of the executable cargo reports for target NAME in its JSON messages on stdin.
executable() {
  python3 -c '
import json, sys
name = sys.argv[1]
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == name and m.get("executable"):
        print(m["executable"])
' "$1"
}

# Fingerprint of the executor sources, taken around the build: a mismatch
# means the executor was edited while building and the two binaries may differ.
executor_hash() {
  find ../executor -name '*.rs' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}
HASH_BEFORE=$(executor_hash)

BENCH=$(cargo bench -p shimmer-benches --bench exec --no-run --message-format=json | executable exec)
ALLOCS=$(cargo build --release -p shimmer-benches --bin allocs --message-format=json | executable allocs)
TARGET=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
# Where criterion writes (and summarize.py reads): the workspace's target/criterion.
export CRITERION_HOME="$TARGET/criterion"

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "nproc: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
  echo "kernel: $(uname -srm)"
  echo "rustc: $(rustc --version)"
  echo "executor sources sha256: $HASH_BEFORE"
  [[ "$(executor_hash)" == "$HASH_BEFORE" ]] ||
    echo "WARNING: the executor sources changed during the build: $(executor_hash)"
  echo "bench binary: $BENCH"
  echo "runs: $RUNS"
} | tee "$OUT/machine.txt"

for i in $(seq 1 "$RUNS"); do
  "$BENCH" --bench --save-baseline "run$i" 2>&1 | tee "$OUT/criterion_run$i.log"
done

"$ALLOCS" | tee "$OUT/allocs.txt"

if [[ -n "${LWT_MICRO:-}" ]]; then
  : >"$OUT/lwt.txt"
  for _ in 1 2 3; do "$LWT_MICRO" | tee -a "$OUT/lwt.txt"; done
fi

CARGO_TARGET_DIR="$TARGET" python3 summarize.py "$RUNS" --allocs "$OUT/allocs.txt" |
  tee "$OUT/summary.md"
