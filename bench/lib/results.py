#!/usr/bin/env python3
"""Result helpers of bench/run (standard library only).

  results.py fio JSON_FILE
      prints "iops MBps lat_us" of one fio run (reads and writes summed; the
      latency is the completion latency averaged over all IOs).
  results.py report RESULTS_TSV FACTS_FILE OUT_DIR
      writes OUT_DIR/results.md (median tables, ratios and targets) and the
      gnuplot input of the plots (OUT_DIR/plots/*.dat, *.gp).

RESULTS_TSV lines: origin workload system rep iops MBps lat_us seconds
(a missing figure is "-").
"""

import json
import os
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
    ("vm_image", "VM image: 70/30 random 4 KiB O_DIRECT", "iops"),
    ("write_latency", "write 4 KiB, one at a time: latency (us)", "lat_us"),
    ("metadata", "metadata: create, stat, readdir, unlink (s)", "seconds"),
]
SYSTEMS = ["origin", "cachefs", "fuse-cachefs", "wtcachefs", "wtcachefs-serial",
           "bindfs", "mergerfs", "rclone"]
ORIGINS = [("fast", "fast origin (plain disk)"),
           ("slow", "slow origin"),
           ("equal", "origin and cache equally slow")]
LOWER_IS_BETTER = {"lat_us", "seconds"}


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 8:
                continue
            origin, workload, system, _rep = parts[:4]
            values = dict(zip(["iops", "MBps", "lat_us", "seconds"], parts[4:]))
            for metric, v in values.items():
                if v != "-":
                    rows.setdefault((origin, workload, system, metric), []).append(float(v))
    return {k: statistics.median(v) for k, v in rows.items()}, \
        {k: len(v) for k, v in rows.items()}


def fmt(v):
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


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
        out.append(f.read().rstrip() + "\n")

    # Targets.
    targets = []

    def ratio(a, b):
        if a is None or b is None or b == 0:
            return None
        return a / b

    def target(name, num, den, op, bound, note=""):
        r = ratio(num, den)
        if r is None:
            verdict = "not measured"
        elif op is None:
            verdict = "reference"
        else:
            ok = r >= bound if op == ">=" else r <= bound
            verdict = "**met**" if ok else "**missed**"
        targets.append((name, fmt(num), fmt(den),
                        "—" if r is None else f"{r:.2f}",
                        "—" if op is None else f"{op} {bound}", verdict, note))

    def best_peer(origin, workload, metric):
        """The better of bindfs and mergerfs: (figure, name), or (None, "")."""
        figures = [(get(origin, workload, p, metric), p) for p in ("bindfs", "mergerfs")]
        figures = [(v, p) for v, p in figures if v is not None]
        if not figures:
            return None, ""
        pick = min if metric in LOWER_IS_BETTER else max
        return pick(figures, key=lambda f: f[0])

    def against_best_peer(label, origin, workload, metric, op, bound):
        v, peer = best_peer(origin, workload, metric)
        target(f"{label}: wtcachefs / best of bindfs and mergerfs"
               + (f" ({peer})" if peer else ""),
               get(origin, workload, "wtcachefs", metric), v, op, bound)

    # The targets of the per-request cost work: never slower than a plain FUSE
    # layer, and VM images at the cache's speed. Write targets compare with the
    # origin's own rate, which a writethrough cache cannot beat.
    f, s = "fast", "slow"
    against_best_peer("fast origin: random 4 KiB write (IOPS)", f, "randwrite", "iops",
                      ">=", 1.0)
    against_best_peer("fast origin: 70/30 Zipf 4 KiB (IOPS)", f, "mixed_zipf", "iops",
                      ">=", 1.0)
    against_best_peer("fast origin: cold sequential read 1 MiB (MB/s)", f, "seqread_cold",
                      "MBps", ">=", 1.0)
    target("fast origin: metadata (create, stat, readdir, unlink): wtcachefs / mergerfs (time)",
           get(f, "metadata", "wtcachefs", "seconds"),
           get(f, "metadata", "mergerfs", "seconds"), "<=", 1.0)
    target("fast origin: VM image 70/30 O_DIRECT: wtcachefs / origin directly (IOPS)",
           get(f, "vm_image", "wtcachefs", "iops"), get(f, "vm_image", "origin", "iops"),
           ">=", 0.7)
    against_best_peer("fast origin: VM image 70/30 O_DIRECT (IOPS)", f, "vm_image", "iops",
                      ">=", 1.0)
    target("slow origin: VM image 70/30 O_DIRECT: wtcachefs / origin directly (IOPS)",
           get(s, "vm_image", "wtcachefs", "iops"), get(s, "vm_image", "origin", "iops"),
           ">=", 3)
    target("slow origin: cache hit, O_DIRECT random 4 KiB read: wtcachefs / cache fs "
           "directly (IOPS)",
           get(s, "randread_direct", "wtcachefs", "iops"),
           get(s, "randread_direct", "cachefs", "iops"), ">=", 0.8)
    target("slow origin: cache hit, sequential read, one pass: wtcachefs / cache fs "
           "directly (MB/s)",
           get(s, "seqread_warm", "wtcachefs", "MBps"),
           get(s, "seqread_warm", "cachefs", "MBps"), ">=", 0.9)
    # What one plain FUSE layer over the cache fs reaches: the ceiling of a
    # cache hit through FUSE, under the two rows above.
    for w, unit in (("randread_direct", "O_DIRECT random 4 KiB read (IOPS)"),
                    ("seqread_warm", "sequential read, one pass (MB/s)")):
        metric = "iops" if w == "randread_direct" else "MBps"
        target(f"slow origin, reference: {unit}: one FUSE layer (bindfs) over the cache fs / "
               "cache fs directly", get(s, w, "fuse-cachefs", metric), get(s, w, "cachefs", metric),
               None, None)
        target(f"slow origin, reference: {unit}: wtcachefs / one FUSE layer over the cache fs",
               get(s, w, "wtcachefs", metric), get(s, w, "fuse-cachefs", metric), None, None)
    target("slow origin: random 4 KiB write: wtcachefs / origin directly (IOPS)",
           get(s, "randwrite", "wtcachefs", "iops"), get(s, "randwrite", "origin", "iops"),
           ">=", 0.95)
    target("origin and cache equally slow: write latency: wtcachefs / origin directly",
           get("equal", "write_latency", "wtcachefs", "lat_us"),
           get("equal", "write_latency", "origin", "lat_us"), "<=", 1.05)
    target("origin and cache equally slow, reference: write latency: one FUSE layer (bindfs) / "
           "origin directly", get("equal", "write_latency", "bindfs", "lat_us"),
           get("equal", "write_latency", "origin", "lat_us"), None, None)
    # Measured by the full run only.
    target("origin and cache equally slow: write latency: parallel / serial writethrough",
           get("equal", "write_latency", "wtcachefs", "lat_us"),
           get("equal", "write_latency", "wtcachefs-serial", "lat_us"), "<=", 0.6)
    target("slow origin: read miss, sequential 1 MiB: wtcachefs / origin directly (MB/s)",
           get(s, "seqread_cold", "wtcachefs", "MBps"),
           get(s, "seqread_cold", "origin", "MBps"), ">=", 0.9)

    out.append("## Targets\n")
    out.append("| target | wtcachefs | compared with | ratio | bound | verdict |")
    out.append("|---|---|---|---|---|---|")
    for name, a, b, r, bound, verdict, _ in targets:
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
            unit = {"MBps": "MB/s", "iops": "IOPS", "lat_us": "µs", "seconds": "s"}[metric]
            cells = [fmt(get(origin, key, sy, metric)) for sy in systems]
            n = max(counts.get((origin, key, sy, metric), 0) for sy in systems)
            out.append(f"| {label} | {unit} | " + " | ".join(cells) + f" | {n} |")
        out.append("")
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
