#!/usr/bin/env bash
# The executor benchmarks end to end: RUNS criterion runs of every group (saved
# as baselines run1..runRUNS), the allocation counter, then the summary.
# Results go to benches/results/ (ignored by git).
#
#   benches/run.sh                       # RUNS=3
#   RUNS=5 benches/run.sh
#   LWT_MICRO=/tmp/lwt/lwt_micro benches/run.sh   # also run the Lwt anchor (built
#                                        # with shared anchors/lwt/build.sh) 3 times
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${RUNS:-3}
OUT=results
mkdir -p "$OUT"

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "nproc: $(nproc)"
  echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
  echo "kernel: $(uname -srm)"
  echo "rustc: $(rustc --version)"
  echo "runs: $RUNS"
} | tee "$OUT/machine.txt"

cargo build --release -p shimmer-benches --benches --bins

for i in $(seq 1 "$RUNS"); do
  cargo bench -p shimmer-benches --bench exec -- --save-baseline "run$i" 2>&1 |
    tee "$OUT/criterion_run$i.log"
done

cargo run --release -q -p shimmer-benches --bin allocs | tee "$OUT/allocs.txt"

if [[ -n "${LWT_MICRO:-}" ]]; then
  : >"$OUT/lwt.txt"
  for i in 1 2 3; do "$LWT_MICRO" | tee -a "$OUT/lwt.txt"; done
fi

python3 summarize.py "$RUNS" --allocs "$OUT/allocs.txt" | tee "$OUT/summary.md"
