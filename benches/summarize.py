#!/usr/bin/env python3
"""Summarise criterion baselines run1..runN of the `exec` bench.

usage: summarize.py [N] [--allocs FILE]

For every bench, each run's figure is the median of criterion's per-iteration
sample times (target/criterion/<group>/<bench>/run<K>/sample.json, written by
`--save-baseline run<K>`); the table shows the median of those N run medians per
operation, their min-max, and the ratio to the best non-shimmer peer of the
group. With an allocation table (allocs.txt from the `allocs` binary, default
benches/results/allocs.txt) the allocations per operation are added. At the end
the targets (shimmer <= 0.5x the reference peer) are checked.

The criterion directory is $CARGO_TARGET_DIR/criterion if set, else the
workspace's target/criterion.
"""
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(HERE, "..", "target")
ROOT = os.path.join(TARGET, "criterion")

TIMER_FLOOR_NS = 5_000_000  # the longest sleep: wall - this = lateness

# group -> (operations per iteration, unit)
GROUPS = {
    "spawn": (10_000, "ns/task"),
    "pingpong": (100_000, "ns/round trip"),
    "yield": (100_000, "ns/yield"),
    "yield_now": (100_000, "ns/yield"),
    "timers": (1, "ms wall per 10k timers"),
}

# group -> (peers the target is against (None: every non-shimmer bench), what)
TARGETS = {
    "spawn": (None, "spawn+await <= 0.5x the best peer, no more allocations"),
    "pingpong": (None, "ping-pong <= 0.5x the best peer, no more allocations"),
    "yield": (None, "plain yield <= 0.5x the best peer, no more allocations"),
    "yield_now": (
        ["tokio_spawn_yield_now", "tokio_localset_yield_now"],
        "yield_now <= 0.5x tokio's yield_now (enable_all)",
    ),
    "timers": (
        ["tokio_spawn_sleep", "tokio_localset_sleep"],
        "timer lateness <= 0.5x tokio's",
    ),
}


def is_shimmer(bench):
    return bench.startswith("shimmer")


def run_median(group, bench, run):
    p = os.path.join(ROOT, group, bench, f"run{run}", "sample.json")
    if not os.path.exists(p):
        return None
    with open(p) as f:
        s = json.load(f)
    return statistics.median(t / i for t, i in zip(s["times"], s["iters"]))


def load_allocs(path):
    """group/bench -> total (alloc + alloc_zeroed + realloc) calls per op."""
    out = {}
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0].startswith("#") or "/" not in parts[0]:
                continue
            try:
                out[parts[0]] = float(parts[3])
            except (IndexError, ValueError):
                pass
    return out


def fmt_allocs(v):
    return "-" if v is None else f"{v:.4g}"


def main(argv):
    runs = 3
    allocs_path = os.path.join(HERE, "results", "allocs.txt")
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--allocs":
            allocs_path = args.pop(0)
        else:
            runs = int(a)
    allocs = load_allocs(allocs_path)
    verdicts = []

    print(f"criterion: {os.path.normpath(ROOT)}, runs 1..{runs}")
    for group, (ops, unit) in GROUPS.items():
        gdir = os.path.join(ROOT, group)
        if not os.path.isdir(gdir):
            continue
        rows = {}
        for b in sorted(os.listdir(gdir)):
            if b == "report":
                continue
            meds = [m for k in range(1, runs + 1) if (m := run_median(group, b, k)) is not None]
            if meds:
                rows[b] = meds
        if not rows:
            continue
        med = {b: statistics.median(v) for b, v in rows.items()}
        late = {b: m - TIMER_FLOOR_NS for b, m in med.items()}
        peers = [b for b in rows if not is_shimmer(b)]
        best = min(peers, key=lambda b: med[b]) if peers else None
        n = len(next(iter(rows.values())))
        print(f"\n### {group} ({unit}; median of {n} run medians, min-max of the run medians)\n")
        order = sorted(rows, key=lambda b: med[b])
        if group == "timers":
            best_late = min(peers, key=lambda b: late[b]) if peers else None
            print(f"| bench | wall ms | min-max | lateness ms | min-max | lateness / best peer ({best_late}) | allocs/task |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for b in order:
                lo, hi = min(rows[b]), max(rows[b])
                ratio = f"{late[b] / late[best_late]:.2f}x" if best_late and late[best_late] > 0 else "-"
                print(
                    f"| {b} | {med[b] / 1e6:.3f} | {lo / 1e6:.3f}-{hi / 1e6:.3f} "
                    f"| {late[b] / 1e6:.3f} | {(lo - TIMER_FLOOR_NS) / 1e6:.3f}-{(hi - TIMER_FLOOR_NS) / 1e6:.3f} "
                    f"| {ratio} | {fmt_allocs(allocs.get(f'{group}/{b}'))} |"
                )
        else:
            print(f"| bench | {unit} | min-max | / best peer ({best}) | allocs/op |")
            print("|---|---:|---:|---:|---:|")
            for b in order:
                lo, hi = min(rows[b]), max(rows[b])
                ratio = f"{med[b] / med[best]:.2f}x" if best else "-"
                print(
                    f"| {b} | {med[b] / ops:.1f} | {lo / ops:.1f}-{hi / ops:.1f} "
                    f"| {ratio} | {fmt_allocs(allocs.get(f'{group}/{b}'))} |"
                )

        # targets
        ref_names, what = TARGETS[group]
        refs = [b for b in (ref_names or peers) if b in rows]
        for s in (b for b in order if is_shimmer(b)):
            if not refs:
                continue
            metric = late if group == "timers" else med
            ref = min(refs, key=lambda b: metric[b])
            ratio = metric[s] / metric[ref] if metric[ref] > 0 else float("inf")
            ok = ratio <= 0.5
            note = ""
            if group in ("spawn", "pingpong", "yield"):
                sa, ra = allocs.get(f"{group}/{s}"), allocs.get(f"{group}/{ref}")
                if sa is not None and ra is not None:
                    fewer = sa <= ra + 1e-9
                    ok = ok and fewer
                    note = f"; allocs/op {sa:.4g} vs {ra:.4g} ({'no more' if fewer else 'MORE'})"
                else:
                    note = "; allocations not measured"
                    ok = False
            if group == "timers":
                fig = f"lateness {metric[s] / 1e6:.3f} ms vs {metric[ref] / 1e6:.3f} ms"
            else:
                fig = f"{metric[s] / ops:.1f} vs {metric[ref] / ops:.1f} {unit}"
            verdicts.append(
                f"| {what} | {s} vs {ref} | {fig} | {ratio:.2f}x{note} | {'met' if ok else 'MISSED'} |"
            )

    if verdicts:
        print("\n### targets\n")
        print("| target | compared | figures | ratio | verdict |")
        print("|---|---|---|---|---|")
        for v in verdicts:
            print(v)


if __name__ == "__main__":
    main(sys.argv[1:])
