#!/usr/bin/env python3
"""Summary table of the TCP echo benchmark (benches/echo.sh).

usage: summarize_echo.py [RESULTS_DIR=results]   (markdown on stdout)

Reads RESULTS_DIR/echo_<server>_<size>B_round<N>.txt (the last line of each is
echo_load's key=value line) and prints, per message size and server: median
round trips/s, min-max, the server's CPU time per round trip (utime+stime over
the measured window / round trips), ratios to the best peer and to the floor,
then the per-round ratios, then shimmer against its targets.

"Peers" are the other runtimes (tokio, monoio_*, lwt). "floor" is the
hand-written epoll loop, and "shimmer" is the server under test; neither is a
peer. The best peer is chosen per size and per metric by median: the highest
round trips/s, the lowest server CPU per round trip.
"""
import os
import re
import statistics
import sys
from collections import defaultdict

ORDER = ["floor", "tokio", "monoio_uring", "monoio_legacy", "lwt", "shimmer"]
NOT_PEERS = {"floor", "shimmer"}


def load(d):
    runs = defaultdict(dict)  # (server, size) -> {round: {key: value}}
    failed = []
    pat = re.compile(r"^echo_(.+)_(\d+)B_round(\d+)\.txt$")
    for name in sorted(os.listdir(d)):
        m = pat.match(name)
        if not m:
            continue
        server, size, rnd = m.group(1), int(m.group(2)), int(m.group(3))
        lines = [l for l in open(os.path.join(d, name)).read().splitlines() if l and not l.startswith("#")]
        kv = {}
        if lines and "round_trips=" in lines[-1]:
            for tok in lines[-1].split():
                k, _, v = tok.partition("=")
                try:
                    kv[k] = float(v)
                except ValueError:
                    kv[k] = v
        if "rt_per_s" not in kv or "server_us_per_rt" not in kv:
            failed.append(f"{server} {size} B round {rnd}: {lines[-1] if lines else 'empty'}")
            continue
        runs[(server, size)][rnd] = kv
    return runs, failed


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_ratio(x):
    return "–" if x != x else f"{x:.2f}"


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "results"
    runs, failed = load(d)
    if not runs:
        print("no echo results in", d)
        return 1
    sizes = sorted({s for (_, s) in runs})
    servers = [s for s in ORDER if any((s, z) in runs for z in sizes)]
    servers += sorted({s for (s, _) in runs} - set(servers))

    env = os.path.join(d, "echo_env.txt")
    print("# TCP echo benchmark (benches/echo.sh)\n")
    if os.path.exists(env):
        print("```")
        print(open(env).read().rstrip())
        print("```\n")
    print(
        "server CPU µs/rt = server utime+stime (/proc/PID/stat, clock ticks) over the measured window "
        "÷ round trips in it (includes the kernel's loopback TCP work done in the server's context); "
        "sched µs/rt = the same from /proc/PID/task/*/schedstat (ns). Ratios: rt/s > 1 is faster, "
        "CPU < 1 is cheaper. Best peer = best median among the peers (not floor, not shimmer), "
        "per size and metric. other load core 0 / 1 = core busy % − the server's / echo_load's own "
        "share (something else ran there: a build, softirq work charged to no process).\n"
    )

    best = {}
    for z in sizes:
        peers = [s for s in servers if s not in NOT_PEERS and (s, z) in runs]
        rt = {s: med([r["rt_per_s"] for r in runs[(s, z)].values()]) for s in peers}
        cpu = {s: med([r["server_us_per_rt"] for r in runs[(s, z)].values()]) for s in peers}
        best[z] = (
            max(rt, key=rt.get) if rt else None,
            min(cpu, key=cpu.get) if cpu else None,
        )

    for z in sizes:
        bt, bc = best[z]
        conns = {int(r["conns"]) for (s, zz), rr in runs.items() if zz == z for r in rr.values()}
        print(f"## {z} B messages, {'/'.join(map(str, sorted(conns)))} connections\n")
        print(f"best peer: round trips/s {bt}, server CPU/rt {bc}\n")
        print(
            "| server | rounds | rt/s median | rt/s min–max | rt/s vs best peer | rt/s vs floor "
            "| p50 µs | p99 µs | server CPU µs/rt median | min–max | CPU vs best peer | CPU vs floor "
            "| sched µs/rt | load µs/rt | core0 busy % | core1 busy % | other load core 0 % | other load core 1 % | steal % |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        def m(s, k):
            return med([r[k] for r in runs[(s, z)].values()]) if (s, z) in runs else float("nan")
        for s in servers:
            if (s, z) not in runs:
                continue
            rs = runs[(s, z)].values()
            rt = [r["rt_per_s"] for r in rs]
            cpu = [r["server_us_per_rt"] for r in rs]
            other = [
                max(0.0, r["cpu0_busy_pct"] - 100.0 * r["server_us_per_rt"] * r["rt_per_s"] / 1e6)
                for r in rs
            ]
            other1 = [
                max(0.0, r["cpu1_busy_pct"] - 100.0 * r["load_us_per_rt"] * r["rt_per_s"] / 1e6)
                for r in rs
            ]
            name = f"**{s}**" if s == "shimmer" else s
            print(
                f"| {name} | {len(rt)} | {med(rt):.0f} | {min(rt):.0f}–{max(rt):.0f} "
                f"| {fmt_ratio(med(rt) / m(bt, 'rt_per_s')) if bt else '–'} "
                f"| {fmt_ratio(med(rt) / m('floor', 'rt_per_s'))} "
                f"| {m(s, 'p50_us'):.0f} | {m(s, 'p99_us'):.0f} "
                f"| {med(cpu):.2f} | {min(cpu):.2f}–{max(cpu):.2f} "
                f"| {fmt_ratio(med(cpu) / m(bc, 'server_us_per_rt')) if bc else '–'} "
                f"| {fmt_ratio(med(cpu) / m('floor', 'server_us_per_rt'))} "
                f"| {m(s, 'server_sched_us_per_rt'):.2f} | {m(s, 'load_us_per_rt'):.2f} "
                f"| {m(s, 'cpu0_busy_pct'):.0f} | {m(s, 'cpu1_busy_pct'):.0f} "
                f"| {med(other):.0f} (max {max(other):.0f}) | {med(other1):.0f} (max {max(other1):.0f}) "
                f"| {m(s, 'steal_pct'):.1f} |"
            )
        print()

    print("## Per-round ratios (same round; median, min–max over rounds; the list is round 1, 2, …)\n")
    print("rt/s ratio > 1: more round trips/s than the reference; CPU ratio < 1: less server CPU per round trip.\n")
    print("| size | server / reference | rounds | rt/s ratio median | min–max | per round | CPU ratio median | min–max | per round |")
    print("|---|---|---:|---:|---:|---|---:|---:|---|")
    for z in sizes:
        bt, bc = best[z]
        for s in servers:
            # every server against the floor; shimmer also against the best peers
            refs = ["floor"] + (sorted({x for x in (bt, bc) if x}) if s == "shimmer" else [])
            for ref in refs:
                if s == ref or (s, z) not in runs or (ref, z) not in runs:
                    continue
                common = sorted(set(runs[(s, z)]) & set(runs[(ref, z)]))
                if not common:
                    continue
                a, b = runs[(s, z)], runs[(ref, z)]
                rr = [a[i]["rt_per_s"] / b[i]["rt_per_s"] for i in common]
                cr = [a[i]["server_us_per_rt"] / b[i]["server_us_per_rt"] for i in common]
                print(
                    f"| {z} B | {s} / {ref} | {len(common)} | {med(rr):.2f} | {min(rr):.2f}–{max(rr):.2f} "
                    f"| {' '.join(f'{x:.2f}' for x in rr)} | {med(cr):.2f} | {min(cr):.2f}–{max(cr):.2f} "
                    f"| {' '.join(f'{x:.2f}' for x in cr)} |"
                )
    print()

    if any(s == "shimmer" for s, _ in runs):
        print("## shimmer against its targets (medians)\n")
        print("| size | CPU/rt ≤ 0.95× best peer | CPU/rt ≤ 1.05× floor | rt/s ≥ every peer |")
        print("|---|---|---|---|")
        for z in sizes:
            if ("shimmer", z) not in runs:
                continue
            bt, bc = best[z]
            sc = med([r["server_us_per_rt"] for r in runs[("shimmer", z)].values()])
            st = med([r["rt_per_s"] for r in runs[("shimmer", z)].values()])
            cells = []
            if bc:
                pc = med([r["server_us_per_rt"] for r in runs[(bc, z)].values()])
                cells.append(f"{'met' if sc <= 0.95 * pc else 'NOT met'}: {sc / pc:.3f}× {bc}")
            else:
                cells.append("–")
            if ("floor", z) in runs:
                fc = med([r["server_us_per_rt"] for r in runs[("floor", z)].values()])
                cells.append(f"{'met' if sc <= 1.05 * fc else 'NOT met'}: {sc / fc:.3f}× floor")
            else:
                cells.append("–")
            if bt:
                pt = med([r["rt_per_s"] for r in runs[(bt, z)].values()])
                cells.append(f"{'met' if st >= pt else 'NOT met'}: {st / pt:.3f}× {bt}")
            else:
                cells.append("–")
            print(f"| {z} B | " + " | ".join(cells) + " |")
        print()

    if failed:
        print("## Failed runs (not in the tables)\n")
        for f in failed:
            print("*", f)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
