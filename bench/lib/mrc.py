#!/usr/bin/env python3
"""The live miss-ratio curve against the truth, on traces of real mounts.

  mrc.py --wt WT --sim SIM --work DIR --out DIR [--cache-size 64M]
         [--block-size 4K] [--file-size 512M] [--ios 500000]
         [--policies arc,2q,lru] [--workloads zipf,vm-mix] [--commit C]

For each workload and policy: mounts a fresh wtcachefs view (WORK/view over
WORK/origin, cache WORK/cache, --cache-size and --block-size as given, the
policy with --policy) over an origin file of --file-size, runs fio through it
with O_DIRECT requests of one block each (every request reaches the daemon)
and records fio's iolog, then reads `wtcachefs status --mrc --json`: the
curve the daemon predicted while it served. The iolog becomes a block trace
(reads, and writes as "w N"), which `wtcachefs-sim run --mrc` simulates in
full at every size the curve names: the exact curve. Writes OUT/mrc.md (a
table per workload and policy, the mean absolute errors, the prediction at
the cache's size against the hit ratio the mount counted), OUT/mrc.tsv and
OUT/mrc.gp, a gnuplot script run in OUT that draws mrc.png (predicted against
exact).

Workloads (fio, --bs the block size, psync, --norandommap):
  zipf    random reads, Zipf(0.9) over the file
  vm-mix  70% reads / 30% writes, zoned: 60% of requests to 10% of the file,
          30% to the next 20%, 10% to the remaining 70%

Every mount is unmounted, also on failure or Ctrl-C; WORK is the caller's to
remove.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

WORKLOADS = {
    "zipf": ["--rw=randread", "--random_distribution=zipf:0.9"],
    "vm-mix": ["--rw=randrw", "--rwmixread=70",
               "--random_distribution=zoned:60/10:30/20:10/70"],
}


def log(message):
    print(time.strftime("%H:%M:%S"), message, file=sys.stderr, flush=True)


def size_bytes(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper().rstrip("B").rstrip("I")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def is_mounted(path):
    with open("/proc/mounts") as mounts:
        return any(line.split()[1] == path for line in mounts)


class View:
    """A wtcachefs mount in the foreground, unmounted on exit."""

    def __init__(self, wt, work, args):
        self.view = os.path.join(work, "view")
        self.origin = os.path.join(work, "origin")
        self.cache = os.path.join(work, "cache")
        for d in (self.view, self.origin, self.cache):
            os.makedirs(d, exist_ok=True)
        self.argv = [wt, self.origin, self.cache, self.view, "-f"] + args
        self.daemon = None

    def __enter__(self):
        self.daemon = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
        for _ in range(400):
            if is_mounted(self.view):
                os.stat(self.view)
                return self
            if self.daemon.poll() is not None:
                raise RuntimeError("wtcachefs did not mount: " + self.daemon.stderr.read())
            time.sleep(0.05)
        raise RuntimeError(f"{self.view} not mounted after 20 s")

    def __exit__(self, *exc):
        for _ in range(20):
            if not is_mounted(self.view):
                break
            if subprocess.run(["fusermount3", "-u", self.view],
                              stderr=subprocess.DEVNULL).returncode == 0:
                break
            time.sleep(0.5)
        if is_mounted(self.view):
            subprocess.run(["umount", "-l", self.view])
        try:
            self.daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon.wait()
        return False


def iolog_to_trace(iolog, block_size, trace_path):
    """fio's iolog (version 2 or 3) as a wtcachefs-sim trace; returns (reads, writes)."""
    reads = writes = 0
    pattern = re.compile(r"^(?:\d+ )?\S+ (read|write) (\d+) (\d+)$")
    with open(iolog) as src, open(trace_path, "w") as out:
        for line in src:
            m = pattern.match(line.strip())
            if not m:
                continue
            first = int(m.group(2)) // block_size
            last = (int(m.group(2)) + int(m.group(3)) - 1) // block_size
            for block in range(first, last + 1):
                if m.group(1) == "read":
                    out.write(f"{block}\n")
                    reads += 1
                else:
                    out.write(f"w {block}\n")
                    writes += 1
    return reads, writes


def exact_curve(sim, trace, capacity, policy):
    """{cache_blocks: (exact, offline estimate)} from wtcachefs-sim run --mrc."""
    out = subprocess.run([sim, "run", "--mrc", "--capacity", str(capacity), "--policy", policy,
                          trace], check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^\| (\d+) \| ([\d.]+)% \| ([\d.]+)% \| ([\d.]+)% \| ([\d.]+)% \|$", line)
        if m:
            rows[int(m.group(1))] = (float(m.group(2)) / 100, float(m.group(3)) / 100)
    return rows


def run_one(args, workload, policy, cache_blocks):
    work = os.path.join(args.work, f"{workload}-{policy}")
    os.makedirs(work, exist_ok=True)
    view_args = ["--cache-size", args.cache_size, "--block-size", args.block_size,
                 "--policy", policy]
    iolog = os.path.join(work, "fio.iolog")
    trace = os.path.join(work, "trace")
    with View(args.wt, work, view_args) as view:
        with open(os.path.join(view.origin, "disk"), "wb") as f:
            f.truncate(args.file_bytes)
        log(f"{workload}, {policy}: fio, {args.ios} requests")
        subprocess.run(["fio", "--name=mrc", f"--filename={view.view}/disk",
                        f"--size={args.file_bytes}", f"--bs={args.block_bytes}", "--direct=1",
                        "--ioengine=psync", "--norandommap", "--randrepeat=1",
                        f"--io_size={args.ios * args.block_bytes}", f"--write_iolog={iolog}",
                        "--output-format=terse", "--output=/dev/null"]
                       + WORKLOADS[workload], check=True)
        status = subprocess.run([args.wt, "status", view.view, "--mrc", "--json"], check=True,
                                capture_output=True, text=True).stdout
    live = json.loads(status)
    reads, writes = iolog_to_trace(iolog, args.block_bytes, trace)
    log(f"{workload}, {policy}: {reads} reads, {writes} writes; simulating")
    exact = exact_curve(args.sim, trace, cache_blocks, policy)
    os.remove(iolog)
    os.remove(trace)
    points = []
    for p in live["points"]:
        blocks = p["cache_bytes"] // args.block_bytes
        ex, offline = exact[blocks]
        points.append({"blocks": blocks, "bytes": p["cache_bytes"], "exact": ex,
                       "live": p["hit_ratio"], "offline": offline})
    return {"workload": workload, "policy": policy, "reads": reads, "writes": writes,
            "live_reads": live["reads"], "measured": live["measured_hit_ratio"],
            "sampling_rate": live["sampling_rate"], "simulation_rate": live["simulation_rate"],
            "memory_bytes": live["memory_bytes"], "points": points}


def mae(points, key):
    return sum(abs(p[key] - p["exact"]) for p in points) / len(points)


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:g} {unit}"
        n /= 1024
    return str(n)


def write_report(args, runs):
    tsv = os.path.join(args.out, "mrc.tsv")
    with open(tsv, "w") as out:
        out.write("workload\tpolicy\tcache_bytes\texact\tlive\toffline\n")
        for r in runs:
            for p in r["points"]:
                out.write(f"{r['workload']}\t{r['policy']}\t{p['bytes']}\t{p['exact']:.4f}\t"
                          f"{p['live']:.4f}\t{p['offline']:.4f}\n")
    lines = [
        "# Live miss-ratio curve against the exact curve",
        "",
        f"Commit `{args.commit}`; bench/mrc: a view of `--cache-size {args.cache_size} "
        f"--block-size {args.block_size}` over a {human(args.file_bytes)} origin file, "
        f"{args.ios} fio requests of one block each (O_DIRECT, psync). *live*: what the "
        "daemon predicted while serving (`wtcachefs status --mrc --json`); *exact*: a full "
        "simulation of the same policy over fio's iolog of the run (`wtcachefs-sim run "
        "--mrc`); *offline*: the sampled estimate replayed from that trace.",
        "",
        "| workload | policy | MAE live | MAE offline | predicted at 1x | the mount served | "
        "sampling | simulations | memory |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        at_1x = next(p for p in r["points"] if p["blocks"] == r["cache_blocks"])
        lines.append(f"| {r['workload']} | {r['policy']} | {mae(r['points'], 'live'):.4f} | "
                     f"{mae(r['points'], 'offline'):.4f} | {at_1x['live']:.3f} | "
                     f"{r['measured']:.3f} | {r['sampling_rate']:.4g} | "
                     f"{r['simulation_rate']:.4g} | {r['memory_bytes'] / (1 << 20):.2f} MiB |")
    for r in runs:
        lines += ["", f"## {r['workload']}, {r['policy']}", "",
                  f"{r['reads']} reads, {r['writes']} writes.", "",
                  "| cache | exact | live | offline |", "|---:|---:|---:|---:|"]
        for p in r["points"]:
            lines.append(f"| {human(p['bytes'])} | {p['exact']:.3f} | {p['live']:.3f} | "
                         f"{p['offline']:.3f} |")
    lines += ["", "![predicted against exact](mrc.png)", ""]
    with open(os.path.join(args.out, "mrc.md"), "w") as out:
        out.write("\n".join(lines))
    panels = [(r["workload"], r["policy"]) for r in runs]
    gp = [f"set terminal pngcairo size 1200,{360 * ((len(panels) + 2) // 3)} font ',10'",
          "set output 'mrc.png'",
          f"set multiplot layout {(len(panels) + 2) // 3},3",
          "set logscale x 2", "set format x '%g'", "set xlabel 'cache size (MiB)'",
          "set ylabel 'read hit ratio'", "set yrange [0:1]", "set key bottom right",
          "set datafile separator '\\t'"]
    for workload, policy in panels:
        cond = f'(strcol(1) eq "{workload}" && strcol(2) eq "{policy}")'
        gp += [f"set title '{workload}, {policy}'",
               f"plot 'mrc.tsv' using ({cond} ? $3 / 1048576 : NaN):4 with linespoints title 'exact', "
               f"'' using ({cond} ? $3 / 1048576 : NaN):5 with linespoints "
               "title 'live prediction'"]
    gp.append("unset multiplot")
    with open(os.path.join(args.out, "mrc.gp"), "w") as out:
        out.write("\n".join(gp) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wt", required=True)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--cache-size", default="64M")
    parser.add_argument("--block-size", default="4K")
    parser.add_argument("--file-size", default="512M")
    parser.add_argument("--ios", type=int, default=500000)
    parser.add_argument("--policies", default="arc,2q,lru")
    parser.add_argument("--workloads", default="zipf,vm-mix")
    parser.add_argument("--commit", default="unknown")
    args = parser.parse_args()
    args.block_bytes = size_bytes(args.block_size)
    args.file_bytes = size_bytes(args.file_size)
    cache_blocks = size_bytes(args.cache_size) // args.block_bytes
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    os.makedirs(args.out, exist_ok=True)
    runs = []
    for workload in args.workloads.split(","):
        if workload not in WORKLOADS:
            sys.exit(f"mrc.py: unknown workload {workload}: give {', '.join(WORKLOADS)}")
        for policy in args.policies.split(","):
            run = run_one(args, workload, policy, cache_blocks)
            run["cache_blocks"] = cache_blocks
            runs.append(run)
            log(f"{workload}, {policy}: MAE live {mae(run['points'], 'live'):.4f}, "
                f"predicted at 1x {run['points'][2]['live']:.3f}, "
                f"served {run['measured']:.3f}")
    write_report(args, runs)


if __name__ == "__main__":
    main()
