#!/usr/bin/env python3
"""Result helpers of bench/run (standard library only).

  results.py fio JSON_FILE
      prints "iops MBps lat_us" of one fio run (reads and writes summed; the
      latency is the completion latency averaged over all IOs).
  results.py report RESULTS_TSV FACTS_FILE OUT_DIR
      writes OUT_DIR/results.md (median tables, ratios and targets) and the
      gnuplot input of the plots (OUT_DIR/plots/*.dat, *.gp).

RESULTS_TSV lines: origin workload system rep iops MBps lat_us single (a
missing figure is "-"); single is the one figure of a workload without fio's:
seconds (metadata) or a thread count (threads_user, threads_all).
"""

import json
import os
import re
import statistics
import sys


def fio_summary(path):
    with open(path) as f:
        text = f.read()
    # fio may print warnings before the JSON document.
    data = json.loads(text[text.index("{"):])
    iops = bw = 0.0
    lat_sum = 0.0
    ios = 0
    for job in data["jobs"]:
        for direction in ("read", "write"):
            d = job[direction]
            iops += d["iops"]
            bw += d["bw_bytes"]
            n = d["total_ios"]
            if n:
                lat_sum += d["clat_ns"]["mean"] * n
                ios += n
    lat_us = lat_sum / ios / 1000 if ios else 0.0
    print(f"{iops:.1f} {bw / 1e6:.2f} {lat_us:.1f}")


WORKLOADS = [
    ("seqread_cold", "sequential read 1 MiB, cold cache", "MBps"),
    ("seqread_warm", "sequential read 1 MiB, warm cache, one pass", "MBps"),
    ("seqread_again", "sequential read 1 MiB, warm cache, repeated passes", "MBps"),
    ("randread_buf", "random read 4 KiB, buffered, warm", "iops"),
    ("randread_direct", "random read 4 KiB, O_DIRECT, warm", "iops"),
    ("seqwrite", "sequential write 1 MiB + fsync", "MBps"),
    ("randwrite", "random write 4 KiB", "iops"),
    ("mixed_zipf", "70/30 random read/write 4 KiB, Zipf 1.2", "iops"),
    ("vm_image", "VM image: 70/30 random 4 KiB O_DIRECT (wtcachefs: image mode)", "iops"),
    ("vm_image_dir", "VM image: 70/30 random 4 KiB O_DIRECT (wtcachefs: a file in the mirror)",
     "iops"),
    ("vm_image_qd64", "VM image, queue depth 64 (wtcachefs: image mode)", "iops"),
    ("threads_user", "daemon's own threads during the queue depth 64 VM run", "threads"),
    ("threads_all", "daemon's threads during the queue depth 64 VM run, io_uring workers "
     "included", "threads"),
    ("write_latency", "write 4 KiB, one at a time: latency (us)", "lat_us"),
    ("metadata", "metadata: create, stat, readdir, unlink (s)", "seconds"),
]
SYSTEMS = ["origin", "cachefs", "fuse-cachefs", "wtcachefs", "wtcachefs-uring",
           "wtcachefs-serial", "bindfs", "mergerfs", "rclone"]
# wtcachefs is measured over each FUSE transport: the system of each.
TRANSPORTS = {"wtcachefs": "/dev/fuse", "wtcachefs-uring": "io_uring"}
ORIGINS = [("fast", "fast origin (plain disk)"),
           ("slow", "slow origin"),
           ("equal", "origin and cache equally slow")]
UNITS = {"MBps": "MB/s", "iops": "IOPS", "lat_us": "µs", "seconds": "s", "threads": "threads"}
LOWER_IS_BETTER = {"lat_us", "seconds"}


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 8:
                continue
            origin, workload, system, _rep = parts[:4]
            single = "threads" if workload.startswith("threads_") else "seconds"
            values = dict(zip(["iops", "MBps", "lat_us", single], parts[4:]))
            for metric, v in values.items():
                if v != "-":
                    rows.setdefault((origin, workload, system, metric), []).append(float(v))
    return {k: statistics.median(v) for k, v in rows.items()}, \
        {k: len(v) for k, v in rows.items()}


def fmt(v, metric=None):
    if v is None:
        return "—"
    if metric == "threads":
        return f"{v:g}"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def facts_cpus(facts):
    """The CPU count of the facts' "CPUs, memory" row, or None."""
    m = re.search(r"^\| CPUs, memory \| (\d+),", facts, re.M)
    return int(m.group(1)) if m else None


def report(tsv, facts_file, out_dir):
    med, counts = load(tsv)

    def get(origin, workload, system, metric):
        return med.get((origin, workload, system, metric))

    def baseline(origin, workload, metric):
        # The origin has no cache of its own: its warm read is its cold read.
        if workload in ("seqread_warm", "seqread_again"):
            workload = "seqread_cold"
        return get(origin, workload, "origin", metric)

    out = []
    out.append("# wtcachefs benchmark results\n")
    out.append("Written by `bench/run`; every figure is the median of the runs "
               "counted in the last column of each table; every ratio compares two "
               "systems measured side by side in the same run. How to read them: "
               "[docs/benchmarks.md](../../docs/benchmarks.md).\n")
    out.append("## Set-up\n")
    with open(facts_file) as f:
        facts = f.read()
    out.append(facts.rstrip() + "\n")

    # Targets.
    targets = []

    def ratio(a, b):
        if a is None or b is None or b == 0:
            return None
        return a / b

    def target(name, num, den, op, bound, optional=False, metric=None):
        """A row of the targets table; an optional one is left out when a
        figure is missing."""
        r = ratio(num, den)
        if r is None and optional:
            return
        if r is None:
            verdict = "not measured"
        elif op is None:
            verdict = "reference"
        else:
            ok = r >= bound if op == ">=" else r <= bound
            verdict = "**met**" if ok else "**missed**"
        targets.append((name, fmt(num, metric), fmt(den, metric),
                        "—" if r is None else f"{r:.2f}",
                        "—" if op is None else f"{op} {bound}", verdict))

    # Every target of wtcachefs has a row per transport, side by side: {wt} in
    # the name is the system with its transport. The io_uring rows are left
    # out where a figure is missing (a host without FUSE over io_uring).
    def wt_target(system, name, num, den, op, bound):
        target(name.format(wt=f"wtcachefs ({TRANSPORTS[system]})"), num, den, op, bound,
               optional=system != "wtcachefs")

    def best_peer(origin, workload, metric):
        """The better of bindfs and mergerfs: (figure, name), or (None, "")."""
        figures = [(get(origin, workload, p, metric), p) for p in ("bindfs", "mergerfs")]
        figures = [(v, p) for v, p in figures if v is not None]
        if not figures:
            return None, ""
        pick = min if metric in LOWER_IS_BETTER else max
        return pick(figures, key=lambda f: f[0])

    def against_best_peer(system, label, origin, workload, metric, op, bound):
        v, peer = best_peer(origin, workload, metric)
        wt_target(system, f"{label}: {{wt}} / best of bindfs and mergerfs"
                  + (f" ({peer})" if peer else ""),
                  get(origin, workload, system, metric), v, op, bound)

    # The targets of the per-request cost work: never slower than a plain FUSE
    # layer, and VM images at the cache's speed. Write targets compare with the
    # origin's own rate, which a writethrough cache cannot beat. Each loop gives
    # a target's bound for /dev/fuse, then for io_uring.
    f, s = "fast", "slow"
    wt = list(TRANSPORTS)
    for sy, bound in zip(wt, (1.0, 1.5)):
        against_best_peer(sy, "fast origin: random 4 KiB write (IOPS)", f, "randwrite", "iops",
                          ">=", bound)
    for sy, bound in zip(wt, (1.0, 1.3)):
        against_best_peer(sy, "fast origin: 70/30 Zipf 4 KiB (IOPS)", f, "mixed_zipf", "iops",
                          ">=", bound)
    for sy in wt:
        against_best_peer(sy, "fast origin: cold sequential read 1 MiB (MB/s)", f,
                          "seqread_cold", "MBps", ">=", 1.0)
    for sy in wt:
        wt_target(sy, "fast origin: metadata (create, stat, readdir, unlink): {wt} / mergerfs "
                  "(time)", get(f, "metadata", sy, "seconds"),
                  get(f, "metadata", "mergerfs", "seconds"), "<=", 1.0)
    for w, mode in (("vm_image", "image mode"), ("vm_image_dir", "a file in the mirror")):
        for sy in wt:
            wt_target(sy, f"fast origin: VM image 70/30 O_DIRECT, {mode}: {{wt}} / origin "
                      "directly (IOPS)", get(f, w, sy, "iops"), get(f, w, "origin", "iops"),
                      ">=", 0.7)
    for sy in wt:
        against_best_peer(sy, "fast origin: VM image 70/30 O_DIRECT, image mode (IOPS)", f,
                          "vm_image", "iops", ">=", 1.0)
    for sy, bound in zip(wt, (3, 3.2)):
        wt_target(sy, "slow origin: VM image 70/30 O_DIRECT, image mode: {wt} / origin directly "
                  "(IOPS)", get(s, "vm_image", sy, "iops"), get(s, "vm_image", "origin", "iops"),
                  ">=", bound)
    for sy, bound in zip(wt, (0.8, 0.6)):
        wt_target(sy, "slow origin: cache hit, O_DIRECT random 4 KiB read: {wt} / cache fs "
                  "directly (IOPS)", get(s, "randread_direct", sy, "iops"),
                  get(s, "randread_direct", "cachefs", "iops"), ">=", bound)
    for sy in wt:
        wt_target(sy, "slow origin: cache hit, sequential read, one pass: {wt} / cache fs "
                  "directly (MB/s)", get(s, "seqread_warm", sy, "MBps"),
                  get(s, "seqread_warm", "cachefs", "MBps"), ">=", 0.9)
    # What one plain FUSE layer over the cache fs reaches: the ceiling of a
    # cache hit through /dev/fuse, under the rows above; io_uring is to pass it
    # for O_DIRECT hits.
    for w, unit in (("randread_direct", "cache hit, O_DIRECT random 4 KiB read (IOPS)"),
                    ("seqread_warm", "cache hit, sequential read, one pass (MB/s)")):
        metric = "iops" if w == "randread_direct" else "MBps"
        target(f"slow origin, reference: {unit}: one FUSE layer (bindfs) over the cache fs / "
               "cache fs directly", get(s, w, "fuse-cachefs", metric), get(s, w, "cachefs", metric),
               None, None)
        for sy in wt:
            bounded = sy == "wtcachefs-uring" and w == "randread_direct"
            wt_target(sy, f"slow origin{'' if bounded else ', reference'}: {unit}: "
                      "{wt} / one FUSE layer over the cache fs", get(s, w, sy, metric),
                      get(s, w, "fuse-cachefs", metric), ">=" if bounded else None,
                      1.2 if bounded else None)
    for sy in wt:
        wt_target(sy, "slow origin: random 4 KiB write: {wt} / origin directly (IOPS)",
                  get(s, "randwrite", sy, "iops"), get(s, "randwrite", "origin", "iops"),
                  ">=", 0.95)
    for sy in wt:
        wt_target(sy, "origin and cache equally slow: write latency: {wt} / origin directly",
                  get("equal", "write_latency", sy, "lat_us"),
                  get("equal", "write_latency", "origin", "lat_us"), "<=", 1.05)
    target("origin and cache equally slow, reference: write latency: one FUSE layer (bindfs) / "
           "origin directly", get("equal", "write_latency", "bindfs", "lat_us"),
           get("equal", "write_latency", "origin", "lat_us"), None, None)
    # Measured by the full run only; the serial writethrough diagnostic runs
    # over /dev/fuse alone.
    target("origin and cache equally slow: write latency: parallel / serial writethrough",
           get("equal", "write_latency", "wtcachefs", "lat_us"),
           get("equal", "write_latency", "wtcachefs-serial", "lat_us"), "<=", 0.6)
    for sy in wt:
        wt_target(sy, "slow origin: read miss, sequential 1 MiB: {wt} / origin directly (MB/s)",
                  get(s, "seqread_cold", sy, "MBps"), get(s, "seqread_cold", "origin", "MBps"),
                  ">=", 0.9)
    # FUSE over io_uring serves a queue per CPU: the daemon's own threads must
    # stay near the CPU count however deep the VM's queue (a figure, not a
    # ratio).
    threads = get(f, "threads_user", "wtcachefs-uring", "threads")
    cpus = facts_cpus(facts)
    if threads is not None:
        if cpus is None:
            bound, verdict = "<= CPUs + 8", "CPU count unknown"
        else:
            bound = f"<= {cpus + 8} (CPUs + 8)"
            verdict = "**met**" if threads <= cpus + 8 else "**missed**"
        targets.append(("fast origin: daemon user-space threads, VM run at queue depth 64: "
                        "wtcachefs (io_uring)", fmt(threads, "threads"),
                        "—" if cpus is None else f"{cpus} CPUs", "—", bound, verdict))
    # What the transport alone changes, workload by workload.
    for origin, title in ORIGINS:
        for key, label, metric in WORKLOADS:
            # The labels of time and latency name their unit already.
            unit = "below 1 is better" if metric in LOWER_IS_BETTER else UNITS[metric]
            target(f"{title}, reference: {label} ({unit}): wtcachefs io_uring / /dev/fuse",
                   get(origin, key, "wtcachefs-uring", metric),
                   get(origin, key, "wtcachefs", metric), None, None, optional=True,
                   metric=metric)

    out.append("## Targets\n")
    out.append("| target | wtcachefs | compared with | ratio | bound | verdict |")
    out.append("|---|---|---|---|---|---|")
    for name, a, b, r, bound, verdict in targets:
        out.append(f"| {name} | {a} | {b} | {r} | {bound} | {verdict} |")
    out.append("")

    for origin, title in ORIGINS:
        present = [w for w in WORKLOADS
                   if any((origin, w[0], sy, w[2]) in med for sy in SYSTEMS)]
        if not present:
            continue
        systems = [sy for sy in SYSTEMS
                   if any((origin, w[0], sy, w[2]) in med for w in present)]
        out.append(f"## {title[0].upper() + title[1:]}\n")
        out.append("| workload | unit | " + " | ".join(systems) + " | runs |")
        out.append("|---|---|" + "---|" * len(systems) + "---|")
        for key, label, metric in present:
            cells = [fmt(get(origin, key, sy, metric), metric) for sy in systems]
            n = max(counts.get((origin, key, sy, metric), 0) for sy in systems)
            out.append(f"| {label} | {UNITS[metric]} | " + " | ".join(cells) + f" | {n} |")
        out.append("")
        # A thread count is no speed: it has no ratio to the origin, no bar.
        present = [w for w in present if w[2] != "threads"]
        # Ratios to the origin read directly, side by side.
        out.append(f"Ratio to the origin read or written directly ({title}; "
                   "above 1 is better, for latency and time below 1; a warm "
                   "sequential read is compared with the origin's cold one, "
                   "the origin having no cache of its own):\n")
        out.append("| workload | " + " | ".join(sy for sy in systems if sy != "origin") + " |")
        out.append("|---|" + "---|" * (len(systems) - 1))
        for key, label, metric in present:
            base = baseline(origin, key, metric)
            cells = []
            for sy in systems:
                if sy == "origin":
                    continue
                r = ratio(get(origin, key, sy, metric), base)
                cells.append("—" if r is None else f"{r:.2f}")
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        out.append("")

        # Plot data: one bar chart per origin, figures normalized to the origin.
        os.makedirs(os.path.join(out_dir, "plots"), exist_ok=True)
        dat = os.path.join(out_dir, "plots", f"{origin}.dat")

        def relative(key, metric, sy):
            base = baseline(origin, key, metric)
            v = get(origin, key, sy, metric)
            if v is None or not base:
                return "NaN"
            if metric in LOWER_IS_BETTER:
                return f"{base / v:.4f}" if v else "NaN"
            return f"{v / base:.4f}"

        # A system without one figure relative to the origin (the quick mode
        # measures the origin for few rows) has no bars: gnuplot refuses it.
        plotted = [sy for sy in systems
                   if any(relative(k, m, sy) != "NaN" for k, _, m in present)]
        if not plotted:
            continue
        with open(dat, "w") as f:
            f.write("workload " + " ".join(plotted) + "\n")
            for key, label, metric in present:
                f.write(key + " " + " ".join(relative(key, metric, sy) for sy in plotted) + "\n")
        with open(os.path.join(out_dir, "plots", f"{origin}.gp"), "w") as f:
            f.write(f"""set terminal pngcairo size 1200,600 font ",10"
set output "{out_dir}/{origin}.png"
set title "{title}: speed relative to the origin used directly (higher is better; log scale)"
set style data histogram
set style histogram cluster gap 1
set style fill solid border -1
set boxwidth 0.9
set logscale y 2
set grid ytics
set xtics rotate by -25 noenhanced
set key outside right top noenhanced
set ylabel "x origin"
set format y "%g"
plot for [i=2:{len(plotted) + 1}] "{dat}" using i:xtic(1) title columnheader(i)
""")
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "fio":
        fio_summary(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
